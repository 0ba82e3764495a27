#!/usr/bin/env bash
# Installs what whistlegrid needs on a fresh Debian machine, and nothing that
# is already there: PostgreSQL 15 + PostGIS 3 always; with --test also
# Chromium for the browser tests and staticcheck. npm packages for the
# frontend are installed by `make build` (npm ci).
set -euo pipefail

want_test=0
[ "${1:-}" = "--test" ] && want_test=1

pkgs=()
[ -x /usr/lib/postgresql/15/bin/initdb ] && [ -f /usr/share/postgresql/15/extension/postgis.control ] || pkgs+=(postgresql-15-postgis-3)
if [ "$want_test" = 1 ]; then
  [ -x /usr/bin/chromium ] || pkgs+=(chromium)
  [ -d /usr/share/fonts/opentype/noto ] || pkgs+=(fonts-noto-cjk)
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
