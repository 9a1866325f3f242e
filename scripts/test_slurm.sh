#!/usr/bin/env bash
# scripts/test_slurm.sh - a sweep as a real Slurm array job on a one-node cluster on this machine.
#
# Installs Debian's slurm-wlm and munge if missing, starts munged, slurmctld and slurmd with a generated
# slurm.conf (all state under a temp folder), submits a small sweep with `sbatch --wait --array`, runs
# `datamux report`, checks results.csv holds every run of the grid exactly once, and stops the daemons.
# Needs root (apt, daemons). Off unless DATAMUX_TEST_SLURM=1, because it installs packages and takes
# a while; scripts/test.sh runs it.
set -euo pipefail

if [ "${DATAMUX_TEST_SLURM:-0}" != 1 ]; then
  echo "test_slurm.sh: skipped (set DATAMUX_TEST_SLURM=1)"
  exit 0
fi

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${DATAMUX_BUILD_DIR:-${ROOT}/build}"
DATAMUX="${BUILD_DIR}/bin/datamux"
SHARDS=3
START=$(date +%s)
say() { echo "test_slurm.sh: $*"; }

[ -x "$DATAMUX" ] || { say "no ${DATAMUX}: build first (scripts/build.sh)"; exit 1; }
if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  say "installing slurm-wlm and munge"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q slurm-wlm munge >/dev/null
fi

WORK="$(mktemp -d /tmp/datamux-slurm.XXXXXX)"
export SLURM_CONF="${WORK}/slurm.conf"
MUNGE_SOCKET="${WORK}/munge.socket"
cleanup() {
  set +e
  scontrol shutdown >/dev/null 2>&1
  for f in slurmd.pid slurmctld.pid munged.pid; do
    [ -f "${WORK}/$f" ] && kill "$(cat "${WORK}/$f")" 2>/dev/null
  done
  sleep 1
}
trap cleanup EXIT

# munge: a fresh key and its own socket, so a system munged (if any) is left alone.
mkdir -p "${WORK}/munge"
dd if=/dev/urandom of="${WORK}/munge/munge.key" bs=1024 count=1 status=none
chmod 700 "${WORK}/munge"; chmod 400 "${WORK}/munge/munge.key"
munged --force --key-file="${WORK}/munge/munge.key" --socket="$MUNGE_SOCKET" \
  --pid-file="${WORK}/munged.pid" --log-file="${WORK}/munged.log" --seed-file="${WORK}/munge/seed"

HOST="$(hostname -s)"
mkdir -p "${WORK}/state" "${WORK}/spool"
cat >"$SLURM_CONF" <<CONF
ClusterName=datamux-test
SlurmctldHost=${HOST}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=${MUNGE_SOCKET}
CredType=cred/munge
StateSaveLocation=${WORK}/state
SlurmdSpoolDir=${WORK}/spool
SlurmctldPidFile=${WORK}/slurmctld.pid
SlurmdPidFile=${WORK}/slurmd.pid
SlurmctldLogFile=${WORK}/slurmctld.log
SlurmdLogFile=${WORK}/slurmd.log
SlurmctldPort=16817
SlurmdPort=16818
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
JobCompType=jobcomp/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
NodeName=${HOST} CPUs=$(nproc) State=UNKNOWN
PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF

slurmctld -c
slurmd
for _ in $(seq 60); do
  sinfo -h -o '%T' 2>/dev/null | grep -qE 'idle|mixed' && break
  sleep 1
done
sinfo -h -o '%T' | grep -qE 'idle|mixed' || { say "the node did not come up"; tail -20 "${WORK}"/slurm*.log; exit 1; }
say "cluster up after $(( $(date +%s) - START )) s"

# A small sweep: 2 N x 2 seeds = 4 tiny runs, split over ${SHARDS} array tasks.
SWEEP="${ROOT}/tests/sweep/data/small.toml"
OUT="${WORK}/runs"
cd "$WORK"
DATAMUX="$DATAMUX" OMP_NUM_THREADS=1 sbatch --wait --array=0-$((SHARDS - 1)) --cpus-per-task=1 \
  --output="${WORK}/task-%a.out" "${ROOT}/examples/ablations/slurm_array.sh" "$SWEEP" "$OUT" \
  || { say "array job failed"; tail -n 20 "${WORK}"/task-*.out; exit 1; }
"$DATAMUX" report "$OUT"

expected="$("$DATAMUX" sweep "$SWEEP" --dry-run --out "$OUT" | grep -c 'finished ')"
total="$("$DATAMUX" sweep "$SWEEP" --dry-run --out "$OUT" | grep -cE '^\[ *[0-9]+/')"
rows="$(tail -n +2 "${OUT}/results.csv" | wc -l)"
unique="$(tail -n +2 "${OUT}/results.csv" | cut -d'"' -f2 | sort -u | wc -l)"
grep -h 'SLURM\|shard' "${WORK}"/task-*.out | head -n 3 || true
if [ "$rows" != "$total" ] || [ "$unique" != "$total" ] || [ "$expected" != "$total" ]; then
  say "FAILED: results.csv has ${rows} rows (${unique} distinct), the grid ${total} runs, ${expected} finished"
  exit 1
fi
for t in $(seq 0 $((SHARDS - 1))); do
  grep -q "(shard ${t}/${SHARDS})" "${WORK}/task-${t}.out" || { say "task ${t} did not run shard ${t}/${SHARDS}"; exit 1; }
done
say "ok: ${total} runs over ${SHARDS} array tasks, each once in results.csv ($(( $(date +%s) - START )) s)"
