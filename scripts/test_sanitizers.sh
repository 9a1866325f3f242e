#!/usr/bin/env bash
# scripts/test_sanitizers.sh - builds datamux with sanitizers (separate build folders) and runs the
# subset of the suite that fits in a few minutes. Not part of scripts/test.sh by default (CI time):
# run it directly, or set DATAMUX_TEST_SANITIZERS=1 for scripts/test.sh.
#
#   bash scripts/test_sanitizers.sh all        # both: ASan+UBSan, then TSan (~N min, see docs)
#   bash scripts/test_sanitizers.sh address    # ASan+UBSan only
#   bash scripts/test_sanitizers.sh thread     # TSan only
#
# ASan+UBSan (build-asan/): data_tests, the bad-input corpus, the checkpoint tests and the registry
# tests. TSan (build-tsan/): the registry's and matmul's concurrency tests. The core tests come from
# sanitizer_core_tests (tests/CMakeLists.txt), a subset of core_tests built only in sanitizer builds.
# DATAMUX_JOBS sets the parallel build jobs (default: the number of cores).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
JOBS="${DATAMUX_JOBS:-$(nproc)}"
# scripts/test.sh runs every executable scripts/test_*.sh without arguments: skip then unless asked.
if [ $# -eq 0 ] && [ "${DATAMUX_TEST_SANITIZERS:-0}" != "1" ]; then
  echo "test_sanitizers.sh: skipped (set DATAMUX_TEST_SANITIZERS=1, or pass all, address or thread)"
  exit 0
fi
WHICH="${1:-all}"
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$ROOT}"

configure() {  # configure DIR SANITIZERS
  cmake -S "$ROOT" -B "$1" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDATAMUX_SANITIZE="$2" \
    -DDATAMUX_BUILD_BENCH=OFF >/dev/null
}

run_asan() {
  local dir="$ROOT/build-asan"
  local t0=$SECONDS
  configure "$dir" address,undefined
  cmake --build "$dir" -j "$JOBS" --target data_tests sanitizer_core_tests registry_tests bad_input_tests datamux_cli
  echo "== ASan+UBSan build: $((SECONDS - t0)) s"
  t0=$SECONDS
  # detect_leaks: the suite must not leak either. The suppressions file names only what is not ours.
  export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
  export LSAN_OPTIONS="suppressions=$ROOT/scripts/sanitizer_suppressions/lsan.supp:print_suppressions=0"
  export OMP_NUM_THREADS=2
  "$dir/bin/data_tests"
  "$dir/bin/bad_input_tests"
  "$dir/bin/sanitizer_core_tests" --gtest_filter='Checkpoint*'
  "$dir/bin/registry_tests"
  echo "== ASan+UBSan tests: $((SECONDS - t0)) s, clean"
}

run_tsan() {
  local dir="$ROOT/build-tsan"
  local t0=$SECONDS
  configure "$dir" thread
  cmake --build "$dir" -j "$JOBS" --target sanitizer_core_tests registry_tests
  echo "== TSan build: $((SECONDS - t0)) s"
  t0=$SECONDS
  export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$ROOT/scripts/sanitizer_suppressions/tsan.supp"
  # One OpenMP thread: libgomp is not built with TSan, so its barriers look like races to it; the
  # claims under test are about our threads (std::thread in the tests), not OpenMP's.
  export OMP_NUM_THREADS=1
  "$dir/bin/registry_tests" --gtest_filter='RegistryThreads*'
  "$dir/bin/sanitizer_core_tests" --gtest_filter='Matmul.Concurrent*'
  echo "== TSan tests: $((SECONDS - t0)) s, clean"
}

case "$WHICH" in
  all) run_asan; run_tsan ;;
  address) run_asan ;;
  thread) run_tsan ;;
  *) echo "usage: $0 [all|address|thread]" >&2; exit 2 ;;
esac
