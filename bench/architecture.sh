#!/usr/bin/env bash
# bench/architecture.sh — the architecture feedback through the real binary
# and HTTP: an organisation of N components (default 10,000) with 30,000
# dependency edges (bench_architecture --write), imported into SQLite and
# served; then GET /api/v1/insights/architecture once cold (the catalog
# snapshot and the graph are built) and REPS times warm (the graph is
# reused, the findings are computed), beside GET /api/v1/insights/ownership
# (another whole-catalog report over the same snapshot) as the same-run
# baseline. Server time per request comes from the server's own histogram
# (/metrics: conway_http_request_duration_seconds sum and count per route).
# Prints figures and the load average; asserts nothing.
# Usage: bench/architecture.sh [N] [REPS]   env: CONWAY_BIN, BUILD (default build)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-10000}
REPS=${2:-10}
BUILD=${BUILD:-build}
BIN=${CONWAY_BIN:-$BUILD/conway}
WORK=$(mktemp -d)
SRV=
trap 'if [ -n "$SRV" ]; then kill "$SRV" 2>/dev/null || true; fi; rm -rf "$WORK"' EXIT

echo "architecture benchmark: $N components, $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
"$BUILD/bench_architecture" --write "$WORK/org.json" "$N"
"$BIN" import --db "$WORK/c.db" --quiet "$WORK/org.json" >/dev/null
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$BIN" serve --db "$WORK/c.db" --listen "127.0.0.1:$PORT" --public-read --snapshot-interval 0 \
  --log-level warn 2>"$WORK/serve.log" &
SRV=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
URL="http://127.0.0.1:$PORT"

# seconds and count of one route from /metrics
route_time() {
  curl -s "$URL/metrics" | awk -v r="$1" '
    index($0, "conway_http_request_duration_seconds_sum{") == 1 && index($0, "route=\"" r "\"") { s += $NF }
    index($0, "conway_http_request_duration_seconds_count{") == 1 && index($0, "route=\"" r "\"") { c += $NF }
    END { printf "%s %s\n", s + 0, c + 0 }'
}
per_request() { # route before-sum before-count
  read -r s c < <(route_time "$1")
  awk -v s="$s" -v c="$c" -v s0="$2" -v c0="$3" 'BEGIN { if (c > c0) printf "%.1f", (s - s0) / (c - c0) * 1000; else printf "-" }'
}

A=/api/v1/insights/architecture
O=/api/v1/insights/ownership
read -r s0 c0 < <(route_time "$A")
curl -s -o /dev/null "$URL$A"
echo "  cold architecture request (catalog snapshot + graph + findings): $(per_request "$A" "$s0" "$c0") ms"
read -r s0 c0 < <(route_time "$O")
curl -s -o /dev/null "$URL$O"
read -r s0 c0 < <(route_time "$O")
for _ in $(seq "$REPS"); do curl -s -o /dev/null "$URL$O"; done
echo "  baseline: warm ownership request: $(per_request "$O" "$s0" "$c0") ms mean of $REPS"
read -r s0 c0 < <(route_time "$A")
for _ in $(seq "$REPS"); do curl -s -o /dev/null "$URL$A"; done
echo "  warm architecture request (findings over the cached graph): $(per_request "$A" "$s0" "$c0") ms mean of $REPS (target 200 ms)"
BYTES=$(curl -s "$URL$A" | wc -c)
echo "  answer: $BYTES bytes"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
