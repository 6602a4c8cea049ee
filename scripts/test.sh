#!/usr/bin/env bash
# Runs every test suite: unit (cmocka/CTest), black-box API tests (Node),
# the same again under AddressSanitizer+UBSan (clang), browser tests
# (Chromium), crash-consistency tests and a short fuzzing pass; the unit
# tests also run under valgrind memcheck. A throwaway PostgreSQL and RabbitMQ
# (scripts/services.sh, non-default ports) run for the duration: the store
# suites and the AMQP tests use them, and the API tests run a second time
# with PostgreSQL as the database. Any failure fails the run. Used by
# `make test` and CI. CONWAY_SKIP_SERVICES=1 runs without them.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
JOBS=${JOBS:-2}
FUZZ_SECONDS=${FUZZ_SECONDS:-20}

step() { printf '\n==> %s (%s)\n' "$*" "$(date -u +%T)"; }

if [ "${CONWAY_SKIP_SERVICES:-}" != 1 ]; then
  step "starting PostgreSQL and RabbitMQ (scripts/services.sh)"
  # services already running (a developer's, on the same ports) are used and
  # left running; the ones started here are stopped at exit
  if [ -z "$(./scripts/services.sh env)" ]; then
    trap './scripts/services.sh stop >/dev/null 2>&1 || true' EXIT
  fi
  # fsync off: the tests kill processes, never the machine
  svc_env=$(CONWAY_PG_FSYNC=off ./scripts/services.sh start)
  eval "$svc_env"
  export CONWAY_TEST_PG_URL CONWAY_TEST_AMQP_URL
fi

step "unit tests (gcc build)"
(cd build && ctest --output-on-failure -j"$JOBS" -L unit)

step "unit tests under valgrind memcheck (gcc build)"
# Invalid accesses and definite/indirect leaks fail the run; benchmark
# binaries are not unit tests and are skipped (only CTest's unit label runs).
if command -v valgrind >/dev/null 2>&1; then
  mkdir -p build/valgrind
  vg_one() {
    if (cd build && valgrind -q --error-exitcode=99 --leak-check=full \
          --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect \
          --num-callers=40 "./$1") >"build/valgrind/$1.log" 2>&1; then
      echo "valgrind: $1 clean"
    else
      echo "valgrind: $1 FAILED (build/valgrind/$1.log):"; tail -80 "build/valgrind/$1.log"; return 1
    fi
  }
  export -f vg_one
  # the PostgreSQL backend's runs are left to the other passes (too slow here)
  # test_graph_svg is left to the gcc and sanitizer passes (LeakSanitizer
  # suppressions for Graphviz): under valgrind /proc/self/exe is valgrind's
  # own tool, so the drawing worker cannot be spawned, and Graphviz with
  # fontconfig leak by design
  (cd build && ctest -N -L unit) | sed -n 's/^ *Test *#[0-9]*: unit\.//p' | grep -vx test_graph_svg |
    env -u CONWAY_TEST_PG_URL xargs -r -P "$JOBS" -I{} bash -c 'vg_one {}'
else
  echo "valgrind not installed (run make deps)"; exit 1
fi

step "script tests (scripts/deps.sh, a self-contained repository)"
node --test --test-concurrency=1 tests/scripts/

step "API tests (gcc build)"
CONWAY_BIN="$ROOT/build/conway" node --test --test-concurrency=1 tests/api/

if [ -n "${CONWAY_TEST_PG_URL:-}" ]; then
  step "API tests with PostgreSQL as the database (gcc build)"
  CONWAY_TEST_DB_BACKEND=postgres CONWAY_BIN="$ROOT/build/conway" \
    node --test --test-concurrency=1 tests/api/
fi

step "demo organisation tests"
CONWAY_BIN="$ROOT/build/conway" node --test --test-concurrency=1 demo/

step "sanitizer build (clang, ASan+UBSan)"
CC=clang cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DCONWAY_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$JOBS"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:halt_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
step "unit tests (sanitizers)"
(cd build-asan && ctest --output-on-failure -j"$JOBS" -L unit)
step "API tests (sanitizers)"
CONWAY_BIN="$ROOT/build-asan/conway" node --test --test-concurrency=1 tests/api/
# slower timing shakes out races the gcc pass misses (a server crash while a
# CLI backup ran next to it was found only here)
step "crash-consistency and backup tests (sanitizers)"
CONWAY_BIN="$ROOT/build-asan/conway" node --test --test-concurrency=1 tests/crash/
unset ASAN_OPTIONS UBSAN_OPTIONS

if [ -d tests/browser ] && ls tests/browser/*.test.mjs >/dev/null 2>&1; then
  step "browser tests (Chromium)"
  CONWAY_BIN="$ROOT/build/conway" node --test --test-concurrency=1 tests/browser/
fi

if [ -d tests/crash ] && ls tests/crash/*.test.mjs >/dev/null 2>&1; then
  step "crash-consistency tests"
  CONWAY_BIN="$ROOT/build/conway" node --test --test-concurrency=1 tests/crash/
fi

if ls fuzz/fuzz_*.c >/dev/null 2>&1; then
  step "fuzzing (${FUZZ_SECONDS}s per target)"
  ./scripts/fuzz.sh "$FUZZ_SECONDS"
fi

step "all tests passed"
