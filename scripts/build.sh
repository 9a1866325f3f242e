#!/usr/bin/env bash
# scripts/build.sh - configures and builds datamux (Release, Ninja, ccache when present) into build/.
# Extra arguments go to the CMake configure step, e.g. `bash scripts/build.sh -DDATAMUX_BUILD_BENCH=OFF`.
# DATAMUX_JOBS sets the parallel jobs (default: the number of cores).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${DATAMUX_BUILD_DIR:-${ROOT}/build}"
JOBS="${DATAMUX_JOBS:-$(nproc)}"

# CMakeLists.txt uses ccache when it is installed; hashing paths relative to the source tree lets
# clones and worktrees share cache hits.
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$ROOT}"

cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@"
cmake --build "$BUILD_DIR" -j "$JOBS"
