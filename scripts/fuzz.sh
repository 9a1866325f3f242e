#!/usr/bin/env bash
# scripts/fuzz.sh [SECONDS] - builds the libFuzzer targets of fuzz/ (Clang 14, ASan+UBSan, in
# build-fuzz/) and runs each for SECONDS (default 60), seeded from tests/bad_inputs/ and the reader
# fixtures in tests/data/. Prints the executions each target ran; a crash leaves its input in
# build-fuzz/artifacts/<target>/ and makes the script exit non-zero: turn it into a corpus case in
# tests/bad_inputs/make_corpus.py and fix the reader.
#
# Not run by scripts/test.sh (CI time). Needs the Debian packages clang-14 and libclang-rt-14-dev
# (libFuzzer; libfuzzer-14-dev has the same library for linking by hand).
# DATAMUX_FUZZ_TARGETS limits the targets (space-separated names); DATAMUX_JOBS the build jobs;
# DATAMUX_FUZZ_SKIP_BUILD=1 reuses build-fuzz/ as it is (to fuzz again without reconfiguring).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SECONDS_PER_TARGET="${1:-60}"
BUILD="${DATAMUX_FUZZ_BUILD_DIR:-$ROOT/build-fuzz}"
JOBS="${DATAMUX_JOBS:-$(nproc)}"
TARGETS="${DATAMUX_FUZZ_TARGETS:-fuzz_safetensors fuzz_idx fuzz_delimited fuzz_conll fuzz_tokenizer fuzz_pipeline}"
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$ROOT}"

CXX_COMPILER="$(command -v clang++-14 || command -v clang++ || true)"
if [ -z "$CXX_COMPILER" ]; then
  echo "fuzz.sh: clang++ not found; apt-get install clang-14 libclang-rt-14-dev" >&2
  exit 2
fi

t0=$SECONDS
if [ "${DATAMUX_FUZZ_SKIP_BUILD:-0}" != "1" ]; then
cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER="$CXX_COMPILER" \
  -DDATAMUX_BUILD_FUZZERS=ON -DDATAMUX_SANITIZE=address,undefined -DDATAMUX_BUILD_TESTS=OFF \
  -DDATAMUX_BUILD_BENCH=OFF >/dev/null
# shellcheck disable=SC2086
cmake --build "$BUILD" -j "$JOBS" --target $TARGETS
fi
echo "fuzz.sh: build $((SECONDS - t0)) s"

# Seeds: copies, so the fuzzer's own additions never land in the source tree. The delimited and CoNLL
# targets read their options from the first byte: seeds get one (0x06: TSV/CSV by name, quoting,
# header; 0x04: CoNLL with -DOCSTART- skipping, word column 0, tag column last).
seed() {  # seed TARGET PREFIX_HEX FILES...
  local target=$1 prefix=$2
  shift 2
  local dir="$BUILD/corpus/$target"
  mkdir -p "$dir"
  local f
  for f in "$@"; do
    [ -f "$f" ] || continue
    local out
    out="$dir/seed-$(printf '%s' "$f" | md5sum | cut -c1-16)"
    if [ -n "$prefix" ]; then
      { printf "\\x$prefix"; cat "$f"; } >"$out"
    else
      cp "$f" "$out"
    fi
  done
}
BI="$ROOT/tests/bad_inputs"
TD="$ROOT/tests/data"
shopt -s nullglob globstar
seed fuzz_safetensors "" "$BI"/safetensors/*
seed fuzz_idx "" "$BI"/idx/* "$BI"/idx-pair/* "$BI"/fashion/**/*.gz "$TD"/idx/*.idx "$TD"/idx/*.gz
seed fuzz_delimited 06 "$BI"/tsv/* "$TD"/delimited/*
seed fuzz_conll 04 "$BI"/conll/* "$TD"/conll/* "$BI"/brown/**/ca01
seed fuzz_tokenizer "" "$BI"/tokenizer/* "$BI"/labels/* "$BI"/tsv/*
seed fuzz_pipeline "" "$BI"/pipelines/*.toml "$TD"/pipelines/*.toml "$ROOT"/examples/pipelines/*.toml

failed=0
summary=""
for target in $TARGETS; do
  mkdir -p "$BUILD/artifacts/$target" "$BUILD/corpus/$target"
  log="$BUILD/$target.log"
  echo "fuzz.sh: $target for ${SECONDS_PER_TARGET} s"
  # -rss_limit_mb: an input that makes a reader allocate gigabytes is a finding (unbounded size).
  # -timeout: an input that takes 10 s is a finding (a hang or quadratic work).
  set +e
  (cd "$BUILD" && ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=1" UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1" \
    OMP_NUM_THREADS=1 "$BUILD/bin/$target" -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb=2048 -timeout=10 \
    -max_len=65536 -print_final_stats=1 -artifact_prefix="$BUILD/artifacts/$target/" "$BUILD/corpus/$target") >"$log" 2>&1
  rc=$?
  set -e
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  if [ $rc -ne 0 ]; then
    failed=1
    summary+=$(printf '%-18s FINDING (exit %d) after %s executions: see %s and %s\n' "$target" "$rc" "${execs:-?}" \
      "$log" "$BUILD/artifacts/$target/")$'\n'
  else
    summary+=$(printf '%-18s %12s executions, no finding\n' "$target" "${execs:-?}")$'\n'
  fi
done
echo
echo "fuzz.sh: ${SECONDS_PER_TARGET} s per target"
printf '%s' "$summary"
exit $failed
