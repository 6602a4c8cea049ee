#!/usr/bin/env bash
# bench/run.sh — `make bench`: builds (RelWithDebInfo) and runs the
# benchmarks that need no outside services, each printing its figures beside
# a baseline measured in the same run. Results are recorded by hand, with
# the machine and its load, in bench/RESULTS.md. Add a line per benchmark.
#
# usage: bench/run.sh [BUILD_DIR]   (default: $BUILD or build)
# Not run here: bench/scale.sh (starts PostgreSQL and RabbitMQ) and
# bench/soak/run.sh and bench/heartbeats.sh (minutes long); run them on their own.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-${BUILD:-build}}
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" -j"${JOBS:-2}"

step() { printf '\n==> %s (load %s)\n' "$*" "$(cut -d' ' -f1-3 /proc/loadavg)"; }

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), kernel $(uname -r)"

step "store: import, by-name get, filtered query, facets (bench_store)"
"$BUILD/bench_store" 10000

step "catalog file parsing, YAML against JSON of the same entities (bench_parse)"
"$BUILD/bench_parse" 10000 5

step "catalog through the binary and HTTP (bench/catalog.sh)"
CONWAY_BIN="$BUILD/conway" bench/catalog.sh 10000 10

if [ -x "$BUILD/bench_ownership" ]; then
  step "whole-catalog reports (bench_ownership)"
  "$BUILD/bench_ownership" 10000
fi

step "architecture: graph and findings of 10,000 components, SVG of 200-node systems (bench_architecture)"
"$BUILD/bench_architecture" 10000 5
step "architecture through HTTP (bench/architecture.sh)"
BUILD="$BUILD" CONWAY_BIN="$BUILD/conway" bench/architecture.sh 10000 10

step "release coupling of 2,000 components deployed together (bench_coupling)"
"$BUILD/bench_coupling" 2000 5

if [ -x "$BUILD/bench_events" ]; then
  step "event intake and delivery insights (bench_events)"
  "$BUILD/bench_events" all
fi

step "scorecards: 3 cards x 20 checks over 10,000 entities' facts, one entity changed (bench_scorecard)"
"$BUILD/bench_scorecard" 10000
