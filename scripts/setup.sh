#!/usr/bin/env bash
# Installs what whistlegrid needs on a fresh Debian machine, and nothing that
# is already there: PostgreSQL 15 + PostGIS 3 always; with --test also
# Chromium for the browser tests, poppler-utils (pdftotext, to read the
# printed monthly report) and staticcheck; with --drill also Patroni,
# etcd and HAProxy for `make failover-drill`. npm packages for the frontend
# are installed by `make build` (npm ci).
set -euo pipefail

want_test=0
want_drill=0
for arg in "$@"; do
  case "$arg" in
    --test) want_test=1 ;;
    --drill) want_drill=1 ;;
    *) echo "setup: unknown flag $arg (use --test or --drill)" >&2; exit 2 ;;
  esac
done

pkgs=()
[ -x /usr/lib/postgresql/15/bin/initdb ] && [ -f /usr/share/postgresql/15/extension/postgis.control ] || pkgs+=(postgresql-15-postgis-3)
# ogr2ogr reads the zipped Shapefiles of `whistlegrid import grids`
command -v ogr2ogr >/dev/null 2>&1 || pkgs+=(gdal-bin)
if [ "$want_test" = 1 ]; then
  [ -x /usr/bin/chromium ] || pkgs+=(chromium)
  [ -d /usr/share/fonts/opentype/noto ] || pkgs+=(fonts-noto-cjk)
  command -v pdftotext >/dev/null 2>&1 || pkgs+=(poppler-utils)
fi
if [ "$want_drill" = 1 ]; then
  command -v patroni >/dev/null 2>&1 || pkgs+=(patroni)
  command -v etcd >/dev/null 2>&1 || pkgs+=(etcd-server)
  command -v haproxy >/dev/null 2>&1 || pkgs+=(haproxy)
fi

if [ ${#pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "setup: missing ${pkgs[*]}; install them as root: apt-get update && apt-get install -y ${pkgs[*]}" >&2
    exit 1
  fi
  echo "setup: installing ${pkgs[*]} with apt"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${pkgs[@]}" >/dev/null
fi

if [ "$want_test" = 1 ] && ! command -v staticcheck >/dev/null 2>&1 && [ ! -x "$(go env GOPATH)/bin/staticcheck" ]; then
  echo "setup: installing staticcheck"
  go install honnef.co/go/tools/cmd/staticcheck@v0.8.2
fi
