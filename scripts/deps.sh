#!/usr/bin/env bash
# Installs every Debian and npm package conway needs to build, run and test.
# Idempotent; works as root or through sudo. Used by `make deps`.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(
  build-essential cmake pkg-config clang llvm libclang-rt-dev
  libmicrohttpd-dev libjansson-dev libyaml-dev libsqlite3-dev sqlite3 libssl-dev
  libcmocka-dev libpq-dev postgresql librabbitmq-dev rabbitmq-server
  libjq-dev libcurl4-openssl-dev libgraphviz-dev
  chromium valgrind wrk curl ca-certificates
)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
# Node.js may come from another source (e.g. NodeSource, which bundles npm);
# only ask Debian for it when the commands are missing.
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
for p in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # A fresh machine may have stale or no package lists.
  $SUDO apt-get install -y --no-install-recommends "${missing[@]}" ||
    { $SUDO apt-get update && $SUDO apt-get install -y --no-install-recommends "${missing[@]}"; }
  # The packaged servers must not keep running on their default ports: the
  # test suite starts its own instances on non-default ports.
  for svc in postgresql rabbitmq-server; do
    $SUDO service "$svc" stop >/dev/null 2>&1 || true
  done
fi

if [ -f tests/package.json ] && [ ! -d tests/node_modules/playwright-core ] || [ tests/package.json -nt tests/node_modules ]; then
  echo "deps: installing npm packages for tests/"
  (cd tests && npm install --no-audit --no-fund --loglevel=error)
  touch tests/node_modules
fi
echo "deps: ok"
