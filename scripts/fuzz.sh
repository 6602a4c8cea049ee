#!/usr/bin/env bash
# Builds every libFuzzer target (clang, ASan+UBSan) and runs each for
# SECONDS (default 60), starting from its seed corpus in fuzz/corpus/<target>/
# and, first, replaying the committed regression inputs in
# fuzz/regressions/<target>/. Any crash, leak or timeout fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET=${1:-60}
CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCONWAY_FUZZ=ON >/dev/null
cmake --build build-fuzz -j"${JOBS:-2}"
mkdir -p build-fuzz/corpus-run
status=0
for src in fuzz/fuzz_*.c; do
  name=$(basename "$src" .c)
  bin=build-fuzz/$name
  [ -x "$bin" ] || { echo "fuzz: $bin missing"; status=1; continue; }
  work=build-fuzz/corpus-run/$name
  mkdir -p "$work"
  if [ -d "fuzz/regressions/$name" ]; then
    echo "fuzz: $name: replaying regressions"
    "$bin" -runs=0 "fuzz/regressions/$name" >/dev/null 2>&1 || { echo "fuzz: $name: regression input fails"; status=1; continue; }
  fi
  seeds=()
  [ -d "fuzz/corpus/$name" ] && seeds+=("fuzz/corpus/$name")
  echo "fuzz: $name for ${SECONDS_PER_TARGET}s"
  if ! "$bin" -max_total_time="$SECONDS_PER_TARGET" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="build-fuzz/$name-" -print_final_stats=0 "$work" "${seeds[@]}" \
        >"build-fuzz/$name.log" 2>&1; then
    echo "fuzz: $name found a problem:"; tail -40 "build-fuzz/$name.log"; status=1
  fi
done
exit $status
