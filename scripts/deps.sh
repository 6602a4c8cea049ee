#!/usr/bin/env bash
# Installs every Debian and npm package conway needs to build, run and test.
# Idempotent; works as root or through sudo. Used by `make deps`.
# With --run (`make deps-run`): only what building and running conway needs
# (compiler, CMake, its libraries' headers) — no database or broker servers,
# browser, sanitizers or npm test packages.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(
  build-essential cmake pkg-config clang llvm libclang-rt-dev
  libmicrohttpd-dev libjansson-dev libyaml-dev libsqlite3-dev sqlite3 libssl-dev
  libcmocka-dev libpq-dev postgresql librabbitmq-dev rabbitmq-server
  libjq-dev libcurl4-openssl-dev libsystemd-dev systemd tzdata libgraphviz-dev
  libzstd-dev
  prometheus default-jre-headless
  chromium valgrind wrk curl ca-certificates
  prometheus-alertmanager
)
RUN_PACKAGES=(
  build-essential cmake pkg-config
  libmicrohttpd-dev libjansson-dev libyaml-dev libsqlite3-dev libssl-dev
  libpq-dev librabbitmq-dev libcurl4-openssl-dev libsystemd-dev libgraphviz-dev
  libzstd-dev
)
RUN_ONLY=0
if [ "${1:-}" = "--run" ]; then
  RUN_ONLY=1
  DEBIAN_PACKAGES=("${RUN_PACKAGES[@]}")
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
# Node.js may come from another source (e.g. NodeSource, which bundles npm);
# only ask Debian for it when the commands are missing.
if [ $RUN_ONLY = 0 ]; then
  command -v node >/dev/null 2>&1 || missing+=(nodejs)
  command -v npm >/dev/null 2>&1 || missing+=(npm)
fi
for p in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

# Installing the packaged PostgreSQL, RabbitMQ, Prometheus or Alertmanager
# starts its system service on the default port; the test suite starts its
# own instances on other ports (scripts/services.sh; the KPI tests their own
# Prometheus, the Alertmanager test its own) and needs none. Stop a service
# afterwards only when
# this run started it: its package is being installed now and the service was
# not running before. A database the user already runs (say postgresql-15
# without the postgresql metapackage) is never touched.
# services_started_by_install PACKAGE... prints, one a line, the services to
# stop after installing PACKAGE...; it asks `service NAME status` now, so it
# must be called before the install.
SERVICE_PACKAGES=(postgresql:postgresql rabbitmq-server:rabbitmq-server
                  prometheus:prometheus prometheus-alertmanager:prometheus-alertmanager)
services_started_by_install() {
  local entry pkg svc p
  for entry in "${SERVICE_PACKAGES[@]}"; do
    pkg=${entry%%:*} svc=${entry#*:}
    for p in "$@"; do
      if [ "$p" = "$pkg" ]; then
        $SUDO service "$svc" status >/dev/null 2>&1 || echo "$svc"
        break
      fi
    done
  done
}

if [ ${#missing[@]} -gt 0 ]; then
  mapfile -t stop_after < <(services_started_by_install "${missing[@]}")
  echo "deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # A fresh machine may have stale or no package lists.
  $SUDO apt-get install -y --no-install-recommends "${missing[@]}" ||
    { $SUDO apt-get update && $SUDO apt-get install -y --no-install-recommends "${missing[@]}"; }
  for svc in "${stop_after[@]}"; do
    echo "deps: stopping $svc, started by its installation (the tests run their own)"
    $SUDO service "$svc" stop >/dev/null 2>&1 || true
  done
fi

if [ $RUN_ONLY = 1 ]; then
  echo "deps: ok (build and run only; 'make deps' adds what the tests need)"
  exit 0
fi
if [ -f tests/package.json ] && [ ! -d tests/node_modules/playwright-core ] || [ tests/package.json -nt tests/node_modules ]; then
  echo "deps: installing npm packages for tests/"
  (cd tests && npm install --no-audit --no-fund --loglevel=error)
  touch tests/node_modules
fi
echo "deps: ok"
