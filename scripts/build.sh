#!/usr/bin/env bash
# scripts/build.sh - configures and builds datamux (Release, Ninja, ccache when present) into build/.
# Extra arguments go to the CMake configure step, e.g. `bash scripts/build.sh -DDATAMUX_BUILD_BENCH=OFF`.
# DATAMUX_JOBS sets the parallel jobs (default: the number of cores). DATAMUX_BUILD_TARGETS builds only
# those targets (space-separated, e.g. "datamux_cli": the command and every plugin it loads); the build
# folder stays configured for everything, so a later full build (scripts/test.sh) reuses what is built.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${DATAMUX_BUILD_DIR:-${ROOT}/build}"
JOBS="${DATAMUX_JOBS:-$(nproc)}"
TARGETS=()
read -r -a TARGETS <<<"${DATAMUX_BUILD_TARGETS:-}"

# CMakeLists.txt uses ccache when it is installed; hashing paths relative to the source tree lets
# clones and worktrees share cache hits.
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$ROOT}"

cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@"
if [ "${#TARGETS[@]}" -gt 0 ]; then
  cmake --build "$BUILD_DIR" -j "$JOBS" --target "${TARGETS[@]}"
else
  cmake --build "$BUILD_DIR" -j "$JOBS"
fi
