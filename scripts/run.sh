#!/usr/bin/env bash
# scripts/run.sh - set-up, build, then the default pipeline: the retrieval warm-up of DESIGN.md
# (examples/pipelines/retrieval.toml). Extra arguments go to `datamux run` (e.g. --set train.steps=100).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${DATAMUX_BUILD_DIR:-${ROOT}/build}"
PIPELINE="${ROOT}/examples/pipelines/retrieval.toml"

bash "${ROOT}/scripts/setup.sh"
bash "${ROOT}/scripts/build.sh"

DATAMUX="${BUILD_DIR}/bin/datamux"
if [ ! -x "$DATAMUX" ] || ! "$DATAMUX" run --help >/dev/null 2>&1; then
  echo "run.sh: ${DATAMUX#"$ROOT"/} has no 'run' command yet: the pipeline runner is not built in this tree." >&2
  exit 1
fi
if [ ! -f "$PIPELINE" ]; then
  echo "run.sh: ${PIPELINE#"$ROOT"/} is missing." >&2
  exit 1
fi
cd "$ROOT"
exec "$DATAMUX" run "$PIPELINE" "$@"
