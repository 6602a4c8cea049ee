#!/usr/bin/env bash
# bench/catalog.sh — catalog workloads through the real binary and HTTP:
#   1. `conway import` of N generated components (default 10,000) into a new
#      database, then the same file again (every entity unchanged), beside
#      the import of a one-entity file (process start, open, one commit) as
#      the baseline; and the demo organisation (demo/org, ~150 entities in
#      7 files, as scripts/demo.sh imports it);
#   2. by-name reads (GET /api/v1/entities/component/default/NAME) with wrk,
#      against GET /healthz in the same run as the baseline of what the HTTP
#      layer alone costs;
#   3. a filtered list (kind + type + owner, limit 100), with 16 connections
#      and with one (server time without CPU contention).
# Server-side time per request comes from the server's own histogram
# (/metrics: conway_http_request_duration_seconds sum/count per route).
# Prints figures and ratios, and the load average before and after (the
# machine may be shared); asserts nothing.
# Usage: bench/catalog.sh [N] [SECONDS]   env: CONWAY_BIN (default build/conway)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-10000}
DUR=${2:-10}
BIN=${CONWAY_BIN:-build/conway}
WORK=$(mktemp -d)
SRV=
trap 'if [ -n "$SRV" ]; then kill "$SRV" 2>/dev/null || true; fi; rm -rf "$WORK"' EXIT

echo "catalog benchmark: $N components, $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"

node -e '
const n = +process.argv[1];
const out = [];
for (let i = 0; i < n; i++) {
  out.push(`apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: svc-${i}
  description: Generated service number ${i}
  tags: [bench, t${i % 20}]
  annotations:
    conway.dev/service-id: svc-${i}
spec:
  type: ${i % 3 ? "service" : "library"}
  lifecycle: production
  owner: team-${i % 50}
  system: system-${i % 25}
  dependsOn: [component:svc-${(i + 1) % n}]
`);
}
process.stdout.write(out.join("---\n"));
' "$N" > "$WORK/components.yaml"
head -n 15 "$WORK/components.yaml" > "$WORK/one.yaml"

secs() { # command... -> wall seconds
  local start end
  start=$(date +%s.%N)
  "$@" >/dev/null
  end=$(date +%s.%N)
  echo "$end - $start" | bc -l
}

one_s=$(secs "$BIN" import --quiet --db "$WORK/one.db" "$WORK/one.yaml")
import_s=$(secs "$BIN" import --quiet --db "$WORK/c.db" "$WORK/components.yaml")
again_s=$(secs "$BIN" import --quiet --db "$WORK/c.db" "$WORK/components.yaml")
printf 'import of %d components:       %7.3f s (%.0f entities/s), %.1fx the one-entity import (%.3f s)\n' \
  "$N" "$import_s" "$(echo "$N / $import_s" | bc -l)" "$(echo "$import_s / $one_s" | bc -l)" "$one_s"
printf 'same file again (unchanged):   %7.3f s (%.0f entities/s)\n' "$again_s" \
  "$(echo "$N / $again_s" | bc -l)"
demo=()
for f in groups users domains-systems resources apis components responsibilities; do
  if [ -f "demo/org/$f.yaml" ]; then demo+=("demo/org/$f.yaml"); fi
done
if [ ${#demo[@]} -gt 0 ]; then
  demo_s=$(secs "$BIN" import --quiet --db "$WORK/demo.db" "${demo[@]}")
  printf 'demo organisation (%d files): %7.3f s, %.1fx the one-entity import\n' "${#demo[@]}" \
    "$demo_s" "$(echo "$demo_s / $one_s" | bc -l)"
fi

port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
"$BIN" serve --db "$WORK/c.db" --listen "127.0.0.1:$port" --public-read --log-level warn 2>"$WORK/serve.log" &
SRV=$!
URL="http://127.0.0.1:$port"
for _ in $(seq 100); do curl -sf "$URL/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
curl -sf "$URL/healthz" >/dev/null

cat > "$WORK/byname.lua" <<LUA
local n = $N
local counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", "/api/v1/entities/component/default/svc-" .. ((counter * 7919) % n))
end
LUA

server_time() { # route -> sum and count of the server's request durations so far
  curl -s "$URL/metrics" | awk -v r="$1" '
    index($0, "conway_http_request_duration_seconds_sum{route=\"" r "\"}") == 1 { s = $2 }
    index($0, "conway_http_request_duration_seconds_count{route=\"" r "\"}") == 1 { c = $2 }
    END { printf "%s %s\n", s, c }'
}

run() { # name route threads connections wrk-args...
  local name=$1 route=$2 t=$3 c=$4; shift 4
  read -r s0 c0 < <(server_time "$route")
  local out rps
  out=$(wrk -t"$t" -c"$c" -d"${DUR}s" --latency "$@")
  read -r s1 c1 < <(server_time "$route")
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  local p50 p99
  p50=$(echo "$out" | awk '/^ +50%/ {print $2}')
  p99=$(echo "$out" | awk '/^ +99%/ {print $2}')
  local mean_us
  mean_us=$(echo "(${s1:-0} - ${s0:-0}) / (${c1:-1} - ${c0:-0}) * 1000000" | bc -l)
  printf '%-34s %10.0f req/s   client p50 %-8s p99 %-8s   server mean %7.1f us\n' "$name" "$rps" "$p50" "$p99" "$mean_us"
  echo "$rps" > "$WORK/$name.rps"
}

LIST="$URL/api/v1/entities?kind=component&type=service&owner=team-7&limit=100"
curl -sf -o /dev/null "$LIST" # the first read of each item renders it
echo "wrk: ${DUR}s per workload"
run healthz /healthz 2 16 "$URL/healthz"
run by-name "/api/v1/entities/{kind}/{namespace}/{name}" 2 16 -s "$WORK/byname.lua" "$URL"
run filtered-list /api/v1/entities 2 16 "$LIST"
run healthz-1conn /healthz 1 1 "$URL/healthz"
run filtered-list-1conn /api/v1/entities 1 1 "$LIST"
printf 'ratio by-name / healthz throughput:            %.2f\n' "$(echo "$(cat "$WORK/by-name.rps") / $(cat "$WORK/healthz.rps")" | bc -l)"
printf 'ratio filtered-list / healthz throughput:      %.3f\n' "$(echo "$(cat "$WORK/filtered-list.rps") / $(cat "$WORK/healthz.rps")" | bc -l)"
printf 'ratio filtered-list / healthz, one connection: %.3f\n' "$(echo "$(cat "$WORK/filtered-list-1conn.rps") / $(cat "$WORK/healthz-1conn.rps")" | bc -l)"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
