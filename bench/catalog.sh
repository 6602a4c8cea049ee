#!/usr/bin/env bash
# bench/catalog.sh — catalog workloads through the real binary and HTTP:
#   1. `conway import` of N generated components (default 10,000);
#   2. by-name reads (GET /api/v1/entities/component/default/NAME) with wrk,
#      against GET /healthz in the same run as the baseline of what the HTTP
#      layer alone costs;
#   3. a filtered list (kind + type + owner, limit 100).
# Server-side time per request comes from the server's own histogram
# (/metrics: conway_http_request_duration_seconds sum/count per route).
# Prints figures and ratios; asserts nothing. Usage: bench/catalog.sh [N] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-10000}
DUR=${2:-10}
BIN=${CONWAY_BIN:-build/conway}
WORK=$(mktemp -d)
trap 'kill $SRV 2>/dev/null || true; rm -rf "$WORK"' EXIT

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

start=$(date +%s.%N)
"$BIN" import --quiet --db "$WORK/c.db" "$WORK/components.yaml" >/dev/null
end=$(date +%s.%N)
import_s=$(echo "$end - $start" | bc -l)
printf 'import of %d components: %.3f s (%.0f entities/s)\n' "$N" "$import_s" "$(echo "$N / $import_s" | bc -l)"

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

server_time() { # route -> mean server seconds per request since the last call
  curl -s "$URL/metrics" | awk -v r="$1" '
    index($0, "conway_http_request_duration_seconds_sum{route=\"" r "\"}") == 1 { s = $2 }
    index($0, "conway_http_request_duration_seconds_count{route=\"" r "\"}") == 1 { c = $2 }
    END { printf "%s %s\n", s, c }'
}

run() { # name route wrk-args...
  local name=$1 route=$2; shift 2
  read -r s0 c0 < <(server_time "$route")
  local out rps
  out=$(wrk -t2 -c16 -d"${DUR}s" --latency "$@")
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

echo "wrk: 2 threads, 16 connections, ${DUR}s per workload"
run healthz /healthz "$URL/healthz"
run by-name "/api/v1/entities/{kind}/{namespace}/{name}" -s "$WORK/byname.lua" "$URL"
run filtered-list /api/v1/entities "$URL/api/v1/entities?kind=component&type=service&owner=team-7&limit=100"
printf 'ratio by-name / healthz throughput: %.2f\n' "$(echo "$(cat "$WORK/by-name.rps") / $(cat "$WORK/healthz.rps")" | bc -l)"
