#!/usr/bin/env bash
# scale.sh — the "at scale" benchmark: starts a throwaway PostgreSQL (fsync
# on) and RabbitMQ with scripts/services.sh unless CONWAY_TEST_PG_URL is
# already set, runs bench_scale (intake through one and two conway instances
# on PostgreSQL and through AMQP, beside PostgreSQL's own insert rate in the
# same run) and appends its section to bench/RESULTS.md.
#
#   bench/scale.sh [BUILD_DIR] [--events N] [--threads T]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
shift || true
[ -x "$BUILD/bench_scale" ] || { echo "scale.sh: build first ($BUILD/bench_scale missing)" >&2; exit 1; }

if [ -z "${CONWAY_TEST_PG_URL:-}" ]; then
  trap './scripts/services.sh stop >/dev/null 2>&1 || true' EXIT
  svc_env=$(CONWAY_PG_FSYNC=on ./scripts/services.sh start)
  eval "$svc_env"
  export CONWAY_TEST_PG_URL CONWAY_TEST_AMQP_URL
fi

out=$(mktemp)
"$BUILD/bench_scale" "$@" | tee "$out"
{
  [ -f bench/RESULTS.md ] || printf '# Benchmark results\n\n'
  printf '\n<!-- bench/scale.sh, %s, %s CPUs, load %s -->\n' "$(date -u +%Y-%m-%dT%H:%MZ)" \
    "$(nproc)" "$(cut -d' ' -f1 /proc/loadavg)"
  cat "$out"
} >>bench/RESULTS.md
rm -f "$out"
echo "scale.sh: appended to bench/RESULTS.md"
