#!/usr/bin/env bash
# Runs a datamux sweep as a Slurm array job: each array task runs one disjoint slice of the grid
# (`datamux sweep` reads SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT itself), all writing into one
# shared output folder. Finished runs are skipped, so resubmitting after a failure or a time-out redoes
# only what did not finish.
#
#   sbatch --array=0-3 examples/ablations/slurm_array.sh examples/ablations/mux_vs_n.toml runs/mux_vs_n
#   # then, once every task is done:
#   datamux report runs/mux_vs_n
#
# or let Slurm run the report after the array:
#   jid=$(sbatch --parsable --array=0-3 examples/ablations/slurm_array.sh S.toml OUT)
#   sbatch --dependency=afterany:$jid --wrap "datamux report OUT"
#
# The array must be contiguous (--array=0-K or 1-K, no step); DATAMUX names the executable (default:
# `datamux` on PATH); each task's runs use SLURM_CPUS_PER_TASK OpenMP threads.
#SBATCH --job-name=datamux-sweep
#SBATCH --array=0-3
#SBATCH --cpus-per-task=2
#SBATCH --output=slurm-%A_%a.out
set -euo pipefail

SWEEP="${1:?usage: sbatch --array=0-K slurm_array.sh SWEEP.toml [OUT_DIR]}"
OUT="${2:-runs/$(basename "$SWEEP" .toml)}"
DATAMUX="${DATAMUX:-datamux}"
export OMP_NUM_THREADS="${SLURM_CPUS_PER_TASK:-1}"

exec "$DATAMUX" sweep "$SWEEP" --out "$OUT"
