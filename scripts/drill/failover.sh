#!/usr/bin/env bash
# The failover drill (`make failover-drill`): installs Patroni, etcd and
# HAProxy when missing, then runs `whistlegrid drill failover` in a run
# folder of its own under /var/tmp (see internal/drill for what it does).
# Whatever happens, also on failure or Ctrl-C, every program the drill
# started is stopped at the end: the drill stops them itself, and this
# script's trap ends whatever is left by the pids in the run folder and
# stops any postmaster on its data folders. The logs and configurations of
# the last run are kept in artifacts/failover-drill/last.
# Arguments are passed to the drill (e.g. --warmup 30s --rate 120).
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/setup.sh --drill

bin=${WHISTLEGRID_BIN:-bin/whistlegrid}
if [ ! -x "$bin" ]; then
  echo "failover-drill: $bin is missing: run make build first" >&2
  exit 1
fi
dir=$(mktemp -d /var/tmp/whistlegrid-drill.XXXXXX)
chmod 755 "$dir"
keep=artifacts/failover-drill/last
drill_pid=

stop_all() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -n "$drill_pid" ] && kill -0 "$drill_pid" 2>/dev/null; then
    kill -TERM "$drill_pid" 2>/dev/null || true
    for _ in $(seq 120); do kill -0 "$drill_pid" 2>/dev/null || break; sleep 1; done
    kill -KILL "$drill_pid" 2>/dev/null || true
  fi
  # each program the drill started leads a process group of its own
  local left=0 f pid data
  for f in "$dir"/pids/*.pid; do
    [ -f "$f" ] || continue
    pid=$(cat "$f")
    if kill -0 -- "-$pid" 2>/dev/null; then
      left=$((left + 1))
      kill -TERM -- "-$pid" 2>/dev/null || true
    fi
  done
  [ "$left" = 0 ] || sleep 5
  for f in "$dir"/pids/*.pid; do
    [ -f "$f" ] || continue
    kill -KILL -- "-$(cat "$f")" 2>/dev/null || true
  done
  for data in "$dir"/pg*/data; do
    [ -f "$data/postmaster.pid" ] || continue
    pid=$(head -1 "$data/postmaster.pid")
    if kill -0 "$pid" 2>/dev/null; then
      left=$((left + 1))
      if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D "$data" -m immediate -w stop >/dev/null 2>&1 || kill -KILL "$pid"
      else
        /usr/lib/postgresql/15/bin/pg_ctl -D "$data" -m immediate -w stop >/dev/null 2>&1 || kill -KILL "$pid"
      fi
    fi
  done
  [ "$left" = 0 ] || echo "failover-drill: stopped $left program(s) the drill left running" >&2
  rm -rf "$keep"
  mkdir -p "$keep"
  cp -r "$dir/logs" "$keep/" 2>/dev/null || true
  for f in "$dir"/pg*/patroni.yml; do
    [ -f "$f" ] && cp "$f" "$keep/$(basename "$(dirname "$f")")-patroni.yml"
  done
  [ -f "$dir/haproxy.cfg" ] && cp "$dir/haproxy.cfg" "$keep/"
  # the configurations hold the drill's passwords: of a cluster that no longer exists
  rm -rf "$dir"
  exit "$rc"
}
trap stop_all EXIT
trap 'exit 130' INT TERM

"$bin" drill failover --dir "$dir" "$@" &
drill_pid=$!
wait "$drill_pid"
