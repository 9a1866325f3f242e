#!/usr/bin/env bash
# bench/side_by_side.sh - datamux against PyTorch 1.13 on the same shapes, in one invocation, and the
# table docs/performance.md shows. Needs the build (bash scripts/build.sh) and Debian's python3-torch
# (apt-get install python3-torch libopenblas0-openmp; this script does not install anything).
#
#   bash bench/side_by_side.sh            # full budgets (~10 minutes on 2 cores)
#   bash bench/side_by_side.sh --quick    # short budgets
# Writes bench-results/side_by_side.md and .json, and datamux's own table bench-results/datamux.txt.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BIN="${DATAMUX_BIN:-$ROOT/build/bin/datamux}"
OUT="${DATAMUX_BENCH_OUT:-$ROOT/bench-results}"
THREADS="${DATAMUX_BENCH_THREADS:-2}"
mkdir -p "$OUT"

if ! /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  echo "side_by_side.sh: PyTorch is missing; install it with: apt-get install python3-torch libopenblas0-openmp" >&2
  exit 2
fi
[[ -x "$BIN" ]] || { echo "side_by_side.sh: $BIN not found; build first: bash scripts/build.sh" >&2; exit 2; }

QUICK=()
for a in "$@"; do
  case "$a" in
    --quick) QUICK=(--quick) ;;
    *) echo "side_by_side.sh: unknown argument '$a' (only --quick)" >&2; exit 2 ;;
  esac
done

OMP_NUM_THREADS="$THREADS" "$BIN" bench "${QUICK[@]}" --threads "$THREADS" --json "$OUT/datamux.json" | tee "$OUT/datamux.txt"
/usr/bin/python3 bench/torch_side_by_side.py --datamux "$BIN" "${QUICK[@]}" --threads "$THREADS" \
  --out "$OUT/side_by_side.md" --json "$OUT/side_by_side.json"
