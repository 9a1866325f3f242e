#!/usr/bin/env bash
# scripts/test.sh - the whole check: set-up, build, the GoogleTest suite (ctest), then every extra test
# script scripts/test_*.sh that is executable (e.g. scripts/test_install.sh). Exits non-zero on the
# first failure. This is what .ci/run runs.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${DATAMUX_BUILD_DIR:-${ROOT}/build}"
JOBS="${DATAMUX_JOBS:-$(nproc)}"

bash "${ROOT}/scripts/setup.sh"
bash "${ROOT}/scripts/build.sh"
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$JOBS"

for script in "${ROOT}"/scripts/test_*.sh; do
  [ -f "$script" ] && [ -x "$script" ] || continue
  echo "test.sh: running ${script#"$ROOT"/}"
  "$script"
done
