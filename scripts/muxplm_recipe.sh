#!/usr/bin/env bash
# scripts/muxplm_recipe.sh - the MUX-PLMs three-stage recipe end to end at small scale, with the
# from-scratch runs it is compared with, and the comparison table (markdown, on stdout at the end).
#
#   bash scripts/muxplm_recipe.sh                 # N = 1 (scratch only), 2 and 5; about 20 runs
#   N_LIST="5" bash scripts/muxplm_recipe.sh      # one N
#   bash scripts/muxplm_recipe.sh --table         # only print the table of the runs already made
#
# For each N > 1: stage 1 retrieval warm-up -> stage 2 masked-LM on Brown and on SpamAssassin (each from
# stage 1) -> stage 3 fine-tuning on Brown tagging and spam classification (each from its stage 2).
# For each N: the same fine-tuning pipelines from scratch (train.init_from=''). The pipelines are in
# examples/pipelines/muxplm/; runs go to $OUT (default runs/muxplm), one folder per run, and a run whose
# results.json exists is not repeated (delete the folder to redo it). Runs one at a time.
# Environment: DATAMUX (the command, default build/bin/datamux), OUT, N_LIST, EXTRA (more --set args
# for every run, e.g. "--set model.threads=1").
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
DATAMUX="${DATAMUX:-build/bin/datamux}"
OUT="${OUT:-runs/muxplm}"
N_LIST="${N_LIST:-1 2 5}"
EXTRA="${EXTRA:-}"
P=examples/pipelines/muxplm

run() {  # run NAME PIPELINE [--set ...]
  local name="$1" pipeline="$2"
  shift 2
  if [ -f "$OUT/$name/results.json" ]; then
    echo "== $name: done already ($OUT/$name/results.json)"
    return
  fi
  echo "== $name: $DATAMUX run $pipeline $* $EXTRA --out $OUT/$name"
  # shellcheck disable=SC2086  # EXTRA is a list of arguments
  "$DATAMUX" run "$pipeline" "$@" $EXTRA --out "$OUT/$name"
}

table() {
  python3 - "$OUT" <<'PY'
import json, os, sys
out = sys.argv[1]
def load(name):
    p = os.path.join(out, name, "results.json")
    return json.load(open(p)) if os.path.exists(p) else None
rows = []
for task, label in (("brown", "Brown POS tagging"), ("spam", "SpamAssassin")):
    for n in (1, 2, 5):
        for how, name in (("from scratch", f"scratch-{task}-n{n}"), ("recipe (retrieval -> MLM -> fine-tune)", f"stage3-{task}-n{n}")):
            r = load(name)
            if not r:
                continue
            pre = load(f"stage2-mlm-{task}-n{n}") if how.startswith("recipe") else None
            per = r.get("per_instance_accuracy") or []
            spread = f"{min(per):.4f} - {max(per):.4f}" if len(per) > 1 else "-"
            mlm = f"{pre['accuracy']:.4f}" if pre else "-"
            rows.append(f"| {label} | {n} | {how} | {r['accuracy']:.4f} | {spread} | {mlm} | {r['inference_examples_per_s']:.0f} | {r['wall_seconds']:.0f} s |")
print("| task | N | training | test accuracy | per-index range | stage-2 masked-token accuracy | inference ex/s | wall |")
print("|---|---|---|---|---|---|---|---|")
print("\n".join(rows))
PY
}

if [ "${1:-}" = "--table" ]; then
  table
  exit 0
fi

for n in $N_LIST; do
  N="--set model.instances=$n"
  run "scratch-brown-n$n" "$P/stage3_brown_tagging.toml" $N --set "train.init_from=''"
  run "scratch-spam-n$n" "$P/stage3_spam.toml" $N --set "train.init_from=''"
  [ "$n" -gt 1 ] || continue
  run "stage1-retrieval-n$n" "$P/stage1_retrieval.toml" $N
  for task in brown spam; do
    run "stage2-mlm-$task-n$n" "$P/stage2_mlm_$task.toml" $N \
      --set "train.init_from='$OUT/stage1-retrieval-n$n/model.safetensors'"
  done
  run "stage3-brown-n$n" "$P/stage3_brown_tagging.toml" $N \
    --set "train.init_from='$OUT/stage2-mlm-brown-n$n/model.safetensors'"
  run "stage3-spam-n$n" "$P/stage3_spam.toml" $N --set "train.init_from='$OUT/stage2-mlm-spam-n$n/model.safetensors'"
done
table
