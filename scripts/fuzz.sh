#!/usr/bin/env bash
# Builds every libFuzzer target (clang, ASan+UBSan) and runs each for
# SECONDS (default 60), starting from its seed corpus in fuzz/corpus/<target>/
# and, first, replaying the committed regression inputs in
# fuzz/regressions/<target>/. Any crash, leak or timeout fails the run, and
# the input that caused it is copied into fuzz/regressions/<target>/: once
# the bug is fixed, commit it there and every later run replays it.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET=${1:-60}
B=${FUZZ_BUILD:-build-fuzz}   # build directory
CC=clang cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCONWAY_FUZZ=ON >/dev/null
cmake --build "$B" -j"${JOBS:-2}"
mkdir -p "$B/corpus-run"

# fuzz_one NAME: replays NAME's regression inputs, then fuzzes it; prints
# what it found and exits non-zero on any problem. Targets run JOBS at a time
# (each libFuzzer process uses one core), every one for the full SECONDS.
fuzz_one() {
  local name=$1 bin=$B/$1 work=$B/corpus-run/$1 input artifact keep
  [ -x "$bin" ] || { echo "fuzz: $bin missing"; return 1; }
  mkdir -p "$work"
  if [ -d "fuzz/regressions/$name" ]; then
    echo "fuzz: $name: replaying regressions"
    local replay_failed=0
    for input in "fuzz/regressions/$name"/*; do
      [ -f "$input" ] || continue
      if ! "$bin" -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$B/replay-$name-" "$input" \
            >"$B/$name.replay.log" 2>&1; then
        echo "fuzz: $name: regression input $input fails:"; tail -40 "$B/$name.replay.log"
        replay_failed=1
      fi
    done
    [ $replay_failed = 0 ] || return 1
  fi
  local seeds=()
  [ -d "fuzz/corpus/$name" ] && seeds+=("fuzz/corpus/$name")
  echo "fuzz: $name for ${SECONDS_PER_TARGET}s"
  rm -f "$B/$name"-crash-* "$B/$name"-leak-* "$B/$name"-timeout-* \
        "$B/$name"-oom-* "$B/$name"-slow-unit-*
  if ! "$bin" -max_total_time="$SECONDS_PER_TARGET" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$B/$name-" -print_final_stats=0 "$work" "${seeds[@]}" \
        >"$B/$name.log" 2>&1; then
    echo "fuzz: $name found a problem:"; tail -40 "$B/$name.log"
    mkdir -p "fuzz/regressions/$name"
    for artifact in "$B/$name"-crash-* "$B/$name"-leak-* "$B/$name"-timeout-* \
                    "$B/$name"-oom-* "$B/$name"-slow-unit-*; do
      [ -f "$artifact" ] || continue
      keep="fuzz/regressions/$name/${artifact#"$B/$name"-}"
      cp "$artifact" "$keep"
      echo "fuzz: $name: the input is saved as $keep; fix the bug, then commit it (it is replayed on every run)"
    done
    return 1
  fi
}
export -f fuzz_one
export B SECONDS_PER_TARGET

status=0
for src in fuzz/fuzz_*.c; do basename "$src" .c; done |
  xargs -r -P "${JOBS:-2}" -I{} bash -c 'fuzz_one {}' || status=1
exit $status
