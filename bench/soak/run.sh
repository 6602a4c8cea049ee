#!/usr/bin/env bash
# bench/soak/run.sh — a bounded soak of conway on loopback: a server on a
# fresh SQLite database holding the demo organisation gets a steady mix of
# reads and writes (load.mjs) for a warm-up and a measured period; prints
# throughput, p50/p90/p99 latency, errors and the server's resident memory
# at start, after the warm-up and at the end, and appends the figures with
# the machine and date to bench/RESULTS.md. A benchmark, not a test.
#
# usage: bench/soak/run.sh [--no-append]
# env:   CONWAY_BIN (default build/conway), RATE (requests/s, default 100),
#        WARMUP (s, default 30), MEASURE (s, default 120)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
BIN=${CONWAY_BIN:-$ROOT/build/conway}
RATE=${RATE:-100}
WARMUP=${WARMUP:-30}
MEASURE=${MEASURE:-120}
APPEND=1
[ "${1:-}" = "--no-append" ] && APPEND=0
[ -x "$BIN" ] || { echo "soak: $BIN not found (make build)"; exit 1; }

WORK=$(mktemp -d /tmp/conway-soak-XXXXXX)
SERVER_PID=""
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

DB=$WORK/soak.db
"$BIN" import --db "$DB" --quiet demo/org >/dev/null
# the 500 components the load reads and rewrites exist from the start
node -e 'for (let i = 0; i < 500; i++) console.log(`---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: soak-${i}, tags: [soak]}\nspec: {type: service, lifecycle: production, owner: group:default/soak-team-${i % 7}}`)' >"$WORK/soak.yaml"
"$BIN" import --db "$DB" --quiet "$WORK/soak.yaml" >/dev/null
TOKEN=$("$BIN" token create --db "$DB" --role admin --name soak 2>/dev/null)

"$BIN" serve --db "$DB" --listen 127.0.0.1:0 --log-level warn 2>"$WORK/serve.log" &
SERVER_PID=$!
# --log-level warn hides the "listening" line: find the port from the socket table
PORT=""
for _ in $(seq 100); do
  PORT=$(ss -ltnpH 2>/dev/null | awk -v pid="pid=$SERVER_PID," '$0 ~ pid { n = split($4, a, ":"); print a[n]; exit }')
  [ -n "$PORT" ] && break
  sleep 0.1
done
[ -n "$PORT" ] || { echo "soak: the server did not start"; cat "$WORK/serve.log"; exit 1; }
URL=http://127.0.0.1:$PORT
curl -sf "$URL/healthz" >/dev/null

echo "soak: $RATE requests/s for ${WARMUP}s warm-up + ${MEASURE}s measured against $URL (pid $SERVER_PID)" >&2
REPORT=$(node bench/soak/load.mjs "$URL" "$TOKEN" "$SERVER_PID" "$RATE" "$WARMUP" "$MEASURE")
kill -0 "$SERVER_PID" 2>/dev/null || { echo "soak: the server died"; cat "$WORK/serve.log"; exit 1; }
SERVER_ERRORS=$(grep -c '"level":"error"' "$WORK/serve.log" || true)

CPU=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
NCPU=$(nproc)
MEM=$(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)
DATE=$(date -u +%Y-%m-%dT%H:%MZ)
COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
SECTION=$(cat <<EOF

<!-- bench/soak/run.sh, $DATE, commit $COMMIT -->
### Soak (bench/soak/run.sh)

Machine: $CPU, $NCPU CPUs (shared with other work; load average at the end $LOAD), $MEM RAM, $(uname -sr); conway $("$BIN" version | cut -d' ' -f2) on SQLite (WAL, synchronous=FULL), loopback, demo organisation loaded.

$REPORT

Server log: $SERVER_ERRORS error lines.
EOF
)
echo "$SECTION"
if [ $APPEND = 1 ]; then
  echo "$SECTION" >> bench/RESULTS.md
  echo "soak: appended to bench/RESULTS.md" >&2
fi
