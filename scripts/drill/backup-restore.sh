#!/usr/bin/env bash
# The backup drill (run by `make failover-drill` before the failover): a
# PostgreSQL 15 + PostGIS cluster with WAL archiving on gets the schema and
# the demo, a base backup is taken with pg_basebackup, more rows are
# written, the cluster is killed and its folder removed, and the backup is
# restored into a new folder, replaying the archived WAL; then the rows
# written before and after the backup are counted in the restored cluster.
# Everything is on 127.0.0.1 and in a folder of its own under /var/tmp,
# stopped and removed at the end, also on failure.
set -euo pipefail
cd "$(dirname "$0")/../.."

bin=${WHISTLEGRID_BIN:-bin/whistlegrid}
pgbin=/usr/lib/postgresql/15/bin
if [ ! -x "$bin" ]; then
  echo "backup-restore: $bin is missing: run make build first" >&2
  exit 1
fi
dir=$(mktemp -d /var/tmp/whistlegrid-backup.XXXXXX)
chmod 755 "$dir"

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
stop_all() {
  local rc=$?
  trap - EXIT INT TERM
  for data in "$dir/primary" "$dir/restored"; do
    if [ -f "$data/postmaster.pid" ] && kill -0 "$(head -1 "$data/postmaster.pid")" 2>/dev/null; then
      as_pg "$pgbin/pg_ctl" -D "$data" -m immediate -w stop >/dev/null 2>&1 || kill -KILL "$(head -1 "$data/postmaster.pid")" 2>/dev/null || true
    fi
  done
  mkdir -p artifacts/failover-drill
  cp "$dir"/*.log artifacts/failover-drill/ 2>/dev/null || true
  rm -rf "$dir"
  exit "$rc"
}
trap stop_all EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
say() { printf '[backup] %s\n' "$*" >&2; }

for d in primary archive restored; do mkdir -p "$dir/$d"; done
[ "$(id -u)" != 0 ] || chown postgres: "$dir/primary" "$dir/archive" "$dir/restored" "$dir"
chmod 700 "$dir/primary" "$dir/restored"
p1=$(free_port)
p2=$(free_port)

# the primary: durable, archiving every finished WAL segment
as_pg "$pgbin/initdb" -D "$dir/primary" -U postgres -A trust -E UTF8 --locale=C.UTF-8 --data-checksums >/dev/null
cat >>"$dir/primary/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $p1
unix_socket_directories = '$dir'
fsync = on
full_page_writes = on
synchronous_commit = on
wal_level = replica
archive_mode = on
archive_command = 'test ! -f $dir/archive/%f && cp %p $dir/archive/%f'
archive_timeout = 60
EOF
as_pg "$pgbin/pg_ctl" -D "$dir/primary" -l "$dir/primary.log" -w start >/dev/null
url1="postgres://postgres@127.0.0.1:$p1/whistlegrid?sslmode=disable"
psql1() { psql -X -q -v ON_ERROR_STOP=1 -At "$url1" "$@"; }
psql -X -q -At "postgres://postgres@127.0.0.1:$p1/postgres?sslmode=disable" -c 'CREATE DATABASE whistlegrid'
"$bin" demo --history=false --database-url "$url1" >"$dir/demo.log" 2>&1
psql1 -c "CREATE TABLE backup_check (id serial PRIMARY KEY, phase text NOT NULL, geom geometry(Point, 4326) NOT NULL)"
psql1 -c "INSERT INTO backup_check (phase, geom) SELECT 'before', ST_SetSRID(ST_MakePoint(115.9 + i * 1e-5, 40.4), 4326) FROM generate_series(1, 1000) i"
grids=$(psql1 -c 'SELECT count(*) FROM grids')
say "primary on 127.0.0.1:$p1: demo loaded ($grids grids), 1000 rows 'before'"

# the base backup: a compressed tar of the data folder and the WAL it needs
as_pg "$pgbin/pg_basebackup" -h 127.0.0.1 -p "$p1" -U postgres -D "$dir/base" -Ft -z -X stream -c fast --label=drill
say "base backup: $(du -sh "$dir/base" | cut -f1) in $dir/base"

# more writes after the backup: these reach a restore only through the archive
psql1 -c "INSERT INTO backup_check (phase, geom) SELECT 'after', ST_SetSRID(ST_MakePoint(116.0 + i * 1e-5, 40.5), 4326) FROM generate_series(1, 2500) i"
after_lsn=$(psql1 -c 'SELECT pg_current_wal_lsn()')
# close the current segment so the archiver copies it (archive_timeout does this within 60 s on its own)
seg=$(psql1 -c 'SELECT pg_walfile_name(pg_current_wal_lsn())')
psql1 -c 'SELECT pg_switch_wal()' >/dev/null
for _ in $(seq 120); do
  [ -f "$dir/archive/$seg" ] && break
  sleep 0.5
done
[ -f "$dir/archive/$seg" ] || { say "segment $seg was not archived"; exit 1; }
say "2500 rows 'after' written (up to LSN $after_lsn), WAL archived up to $seg"

# the disaster: the primary dies and its folder is gone
as_pg "$pgbin/pg_ctl" -D "$dir/primary" -m immediate -w stop >/dev/null
rm -rf "$dir/primary"

# the restore: the base backup into a new folder, then the archived WAL
as_pg tar -xzf "$dir/base/base.tar.gz" -C "$dir/restored"
as_pg tar -xzf "$dir/base/pg_wal.tar.gz" -C "$dir/restored/pg_wal"
cat >>"$dir/restored/postgresql.conf" <<EOF
port = $p2
archive_mode = off
restore_command = 'cp $dir/archive/%f %p'
EOF
as_pg touch "$dir/restored/recovery.signal"
as_pg "$pgbin/pg_ctl" -D "$dir/restored" -l "$dir/restored.log" -w -t 300 start >/dev/null
url2="postgres://postgres@127.0.0.1:$p2/whistlegrid?sslmode=disable"
for _ in $(seq 300); do
  [ "$(psql -X -At "$url2" -c 'SELECT pg_is_in_recovery()' 2>/dev/null)" = f ] && break
  sleep 0.5
done
read -r before after rgrids replayed <<<"$(psql -X -At -F ' ' "$url2" -c "SELECT
  (SELECT count(*) FROM backup_check WHERE phase = 'before'),
  (SELECT count(*) FROM backup_check WHERE phase = 'after'),
  (SELECT count(*) FROM grids),
  pg_current_wal_lsn() >= '$after_lsn'::pg_lsn")"
valid=$(psql -X -At "$url2" -c "SELECT count(*) FROM backup_check WHERE NOT ST_IsValid(geom) OR ST_SRID(geom) <> 4326")
fetched=$(grep -c 'restored log file .* from archive' "$dir/restored.log" || true)

printf '\n%-44s %10s %10s\n' "backup and restore" "written" "restored"
printf '%-44s %10s %10s\n' "grids (demo, before the backup)" "$grids" "$rgrids"
printf '%-44s %10s %10s\n' "rows before the backup" 1000 "$before"
printf '%-44s %10s %10s\n' "rows after it (from the WAL archive)" 2500 "$after"
printf '%-44s %10s %10s\n' "WAL segments replayed from the archive" "" "$fetched"
printf '%-44s %10s %10s\n' "restored past the last write's LSN" "" "$replayed"
ok=false
[ "$before" = 1000 ] && [ "$after" = 2500 ] && [ "$rgrids" = "$grids" ] && [ "$replayed" = t ] && [ "$valid" = 0 ] && [ "$fetched" -gt 0 ] && ok=true
printf '{"backup_restore":%s,"rows_before":%s,"rows_after":%s,"grids":%s,"wal_from_archive":%s}\n' "$ok" "$before" "$after" "$rgrids" "$fetched"
[ "$ok" = true ]
