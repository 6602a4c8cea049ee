#!/usr/bin/env bash
# bench/heartbeats.sh — ping throughput through the real server (issue 14):
# a fresh database holding N heartbeats (default 100,000; period 1 day,
# grace 1 hour) in TEAMS teams, the teams' ping keys and the UUID ping keys
# of KEYED heartbeats minted through the management API and every heartbeat
# pinged once (heartbeats-load.mjs), then an open-loop load pings random
# heartbeats at RATE pings/s (half the UUID form /ping/{uuid}, half the slug
# form /ping/{team-key}/{slug}) for a warm-up and a measured period. The
# same-run baseline is GET /healthz at the same rate on the same server just
# before: what the HTTP path costs without a ping. Every ping is answered
# after its transaction committed. The timed load comes from
# bench_http_load (C, one epoll thread; LOAD_BIN), so the client's own
# timers stay out of the figures.
# Prints a Markdown section; appends it with the machine and date to
# bench/RESULTS.md unless --no-append.
#
# usage: bench/heartbeats.sh [--no-append]
# env:   CONWAY_BIN (default build/conway), N (100000), TEAMS (2000),
#        KEYED (2000), RATE (2000), WARMUP (s, 10), MEASURE (s, 60),
#        SERVE_ARGS (more options for `conway serve`, e.g. "--threads 4"),
#        LOAD_BIN (default: bench_http_load beside CONWAY_BIN), TIMELINE=1
#        (the pings' p50, p99 and max per second, on stderr)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BIN=${CONWAY_BIN:-$ROOT/build/conway}
N=${N:-100000}
TEAMS=${TEAMS:-2000}
KEYED=${KEYED:-2000}
RATE=${RATE:-2000}
WARMUP=${WARMUP:-10}
MEASURE=${MEASURE:-60}
APPEND=1
[ "${1:-}" = "--no-append" ] && APPEND=0
LOAD=${LOAD_BIN:-$(dirname "$BIN")/bench_http_load}
[ -x "$BIN" ] || { echo "heartbeats: $BIN not found (make build)"; exit 1; }
[ -x "$LOAD" ] || { echo "heartbeats: $LOAD not found (make build builds bench_http_load beside conway)"; exit 1; }

WORK=$(mktemp -d /tmp/conway-hbbench-XXXXXX)
SERVER_PID=""
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

DB=$WORK/hb.db
t0=$(date +%s.%N)
mkdir "$WORK/catalog"
# files of at most 10,000 documents (a catalog file's parse limits)
node -e '
const fs = require("fs");
const [dir, n, teams] = [process.argv[1], Number(process.argv[2]), Number(process.argv[3])];
const groups = [];
for (let t = 0; t < teams; t++)
  groups.push(`---\napiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata: {name: hb-team-${t}}\nspec: {type: team, children: []}`);
fs.writeFileSync(`${dir}/groups.yaml`, groups.join("\n") + "\n");
for (let f = 0; f * 10000 < n; f++) {
  const out = [];
  for (let i = f * 10000; i < Math.min(n, (f + 1) * 10000); i++)
    out.push(`---\napiVersion: conway.dev/v1\nkind: Heartbeat\nmetadata: {name: hb-${i}}\nspec: {owner: group:default/hb-team-${i % teams}, purpose: job, period: 1d, grace: 1h}`);
  fs.writeFileSync(`${dir}/heartbeats-${f}.yaml`, out.join("\n") + "\n");
}
' "$WORK/catalog" "$N" "$TEAMS"
"$BIN" import --db "$DB" --quiet "$WORK/catalog" >/dev/null
TOKEN=$("$BIN" token create --db "$DB" --role admin --name hbbench 2>/dev/null)
t1=$(date +%s.%N)

"$BIN" serve --db "$DB" --listen 127.0.0.1:0 --log-level warn ${SERVE_ARGS:-} 2>"$WORK/serve.log" &
SERVER_PID=$!
PORT=""
for _ in $(seq 600); do
  PORT=$(ss -ltnpH 2>/dev/null | awk -v pid="pid=$SERVER_PID," '$0 ~ pid { n = split($4, a, ":"); print a[n]; exit }')
  [ -n "$PORT" ] && break
  sleep 0.1
done
[ -n "$PORT" ] || { echo "heartbeats: the server did not start"; cat "$WORK/serve.log"; exit 1; }
URL=http://127.0.0.1:$PORT
curl -sf "$URL/healthz" >/dev/null
t2=$(date +%s.%N)
SETUP=$(awk -v a="$t0" -v b="$t1" -v c="$t2" 'BEGIN { printf "import %.1f s, server start %.1f s", b - a, c - b }')

echo "heartbeats: $N heartbeats, $RATE pings/s, ${WARMUP}s warm-up + ${MEASURE}s measured against $URL (pid $SERVER_PID)" >&2
REPORT=$(node bench/heartbeats-load.mjs "$URL" "$TOKEN" "$SERVER_PID" "$N" "$TEAMS" "$KEYED" "$RATE" "$WARMUP" "$MEASURE" "$LOAD")
kill -0 "$SERVER_PID" 2>/dev/null || { echo "heartbeats: the server died"; cat "$WORK/serve.log"; exit 1; }
# the server's peak resident memory over the whole run (memory stays bounded)
HWM=$(awk '/^VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$SERVER_PID/status")

CPU=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
DATE=$(date -u +%Y-%m-%dT%H:%MZ)
COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
SECTION=$(cat <<MD

<!-- bench/heartbeats.sh, $DATE, commit $COMMIT -->
### Heartbeat pings (SQLite, $N heartbeats)

$(nproc) CPUs ($CPU, shared with other work), load $(cut -d' ' -f1-3 /proc/loadavg) at the end; $SETUP; server peak RSS $HWM MB${SERVE_ARGS:+; serve $SERVE_ARGS}.

$REPORT
MD
)
echo "$SECTION"
[ "$APPEND" = 1 ] && echo "$SECTION" >>bench/RESULTS.md
exit 0
