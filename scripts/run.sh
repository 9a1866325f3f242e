#!/usr/bin/env bash
# scripts/run.sh - set-up, build, then the default pipeline: the retrieval warm-up of DESIGN.md
# (examples/pipelines/retrieval.toml). Extra arguments go to `datamux run` (e.g. --set train.steps=100).
# It builds only the `datamux` command and the plugins it loads, not the tests or benchmarks (about half
# the compile work); scripts/test.sh later builds the rest in the same build folder. The default job is
# a demo that a newcomer runs again and again: it replaces its own earlier run (--overwrite; `datamux run`
# alone refuses to overwrite a finished run folder, docs/runs.md).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${DATAMUX_BUILD_DIR:-${ROOT}/build}"
PIPELINE="${ROOT}/examples/pipelines/retrieval.toml"

bash "${ROOT}/scripts/setup.sh"
DATAMUX_BUILD_TARGETS=datamux_cli bash "${ROOT}/scripts/build.sh"

cd "$ROOT"
exec "${BUILD_DIR}/bin/datamux" run "$PIPELINE" --overwrite "$@"
