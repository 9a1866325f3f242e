#!/usr/bin/env bash
# scripts/muxplm_recipe.sh - the MUX-PLMs comparison of docs/results.md in one command: DataMUX from
# scratch, DataMUX after the retrieval warm-up, and the three-stage MUX-PLMs recipe with DataMUX's model
# and with MUX-PLMs' own, on Brown POS tagging and SpamAssassin, against plain N = 1; then a throughput
# pass over the final models and the table (markdown, on stdout at the end).
#
#   bash scripts/muxplm_recipe.sh                 # N = 1, 2 and 5, seed 1: 34 runs, one at a time
#   N_LIST="5" SEEDS="2 3" TASKS=brown VARIANTS="a d" bash scripts/muxplm_recipe.sh   # more seeds, a subset
#   bash scripts/muxplm_recipe.sh --table         # only the throughput pass and the table of the runs made
#
# The variants (all on examples/pipelines/muxplm/model.toml: hidden 64, 2-layer Transformer, 32 tokens):
#   (a) DataMUX from scratch: gaussian mux + index demux, the stage-3 pipeline with train.init_from=''
#   (b) DataMUX after the retrieval warm-up: stage 1 (gaussian + index) -> stage 3
#   (c) the MUX-PLMs recipe with gaussian + index: stage 1 -> stage 2 (masked LM) -> stage 3
#   (d) the MUX-PLMs recipe with contextual mux + rsa demux (the pipelines' own model): 1 -> 2 -> 3
#   (e) a control: contextual mux + rsa demux from scratch (what (d) owes to the model, not the recipe)
#   N = 1: variant (a) at N = 1, the model without multiplexing (one instance, its code and prefix).
# Every stage-3 run has the same loss, 0.9 x task + 0.1 x retrieval.
# Runs go to $OUT (default runs/muxplm), one folder per run; a run whose results.json exists is not
# repeated (delete the folder to redo it). The throughput pass evaluates every final model with
# `datamux eval` (one thread) in $ROUNDS interleaved rounds (default 2) and keeps each model's best
# inference examples/s (bench-*.json next to results.json; also kept when done already).
# Environment: DATAMUX (default build/bin/datamux), OUT, N_LIST (default "1 2 5"), TASKS ("brown spam"),
# VARIANTS ("a b c d e"), SEEDS (default 1; model.seed), ROUNDS, EXTRA (more --set args for every run,
# default "--set model.threads=1").
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
DATAMUX="${DATAMUX:-build/bin/datamux}"
OUT="${OUT:-runs/muxplm}"
N_LIST="${N_LIST:-1 2 5}"
TASKS="${TASKS:-brown spam}"
VARIANTS="${VARIANTS:-a b c d e}"
SEEDS="${SEEDS:-1}"
ROUNDS="${ROUNDS:-2}"
EXTRA="${EXTRA:---set model.threads=1}"
P=examples/pipelines/muxplm

run() {  # run NAME PIPELINE [--set ...]
  local name="$1" pipeline="$2"
  shift 2
  if [ -f "$OUT/$name/results.json" ]; then
    echo "== $name: done already ($OUT/$name/results.json)"
    return
  fi
  echo "== $name: $DATAMUX run $pipeline $* $EXTRA --out $OUT/$name   ($(date -u +%H:%M:%S), load $(cut -d' ' -f1-3 /proc/loadavg))"
  # shellcheck disable=SC2086  # EXTRA is a list of arguments
  "$DATAMUX" run "$pipeline" "$@" $EXTRA --out "$OUT/$name" --log-level quiet
}

stage3() {  # stage3 TASK -> the fine-tuning pipeline of TASK
  if [ "$1" = brown ]; then echo "$P/stage3_brown_tagging.toml"; else echo "$P/stage3_spam.toml"; fi
}

# The model of each variant, as --set arguments (the pipelines' own model is (d)'s).
GI="--set mux.plugin=gaussian --set demux.plugin=index"
CR="--set mux.plugin=contextual --set demux.plugin=rsa"

experiments() {
  for seed in $SEEDS; do
    local sfx="" S="--set model.seed=$seed"
    [ "$seed" = 1 ] || sfx="-s$seed"
    for n in $N_LIST; do
      local N="--set model.instances=$n"
      # shellcheck disable=SC2086
      for task in $TASKS; do
        if [ "$n" = 1 ]; then
          run "n1-$task$sfx" "$(stage3 "$task")" $N $S $GI --set "train.init_from=''"
          continue
        fi
        for v in $VARIANTS; do
          case "$v" in
            a) run "a-scratch-$task-n$n$sfx" "$(stage3 "$task")" $N $S $GI --set "train.init_from=''" ;;
            b) run "gi-stage1-n$n$sfx" "$P/stage1_retrieval.toml" $N $S $GI
               run "b-warmup-$task-n$n$sfx" "$(stage3 "$task")" $N $S $GI \
                 --set "train.init_from='$OUT/gi-stage1-n$n$sfx/model.safetensors'" ;;
            c|d) local m="$GI" k=gi
               [ "$v" = d ] && m="$CR" k=cr
               run "$k-stage1-n$n$sfx" "$P/stage1_retrieval.toml" $N $S $m
               run "$k-stage2-$task-n$n$sfx" "$P/stage2_mlm_$task.toml" $N $S $m \
                 --set "train.init_from='$OUT/$k-stage1-n$n$sfx/model.safetensors'"
               run "$v-recipe-$task-n$n$sfx" "$(stage3 "$task")" $N $S $m \
                 --set "train.init_from='$OUT/$k-stage2-$task-n$n$sfx/model.safetensors'" ;;
            e) run "e-scratch-$task-n$n$sfx" "$(stage3 "$task")" $N $S $CR --set "train.init_from=''" ;;
            *) echo "unknown variant '$v' in VARIANTS (a, b, c, d or e)" >&2; exit 2 ;;
          esac
        done
      done
    done
  done
}

# Inference throughput of every final model (a fine-tuning run: n1-*, a-* ... e-*), measured in
# interleaved rounds with one thread so that the ratios between models share the machine's load.
throughput() {
  local dirs=()
  for d in "$OUT"/n1-* "$OUT"/[abcde]-*; do [ -f "$d/model.safetensors" ] && dirs+=("$d"); done
  [ "${#dirs[@]}" -gt 0 ] || return 0
  echo "== throughput: ${#dirs[@]} models x $ROUNDS rounds, one thread ($(date -u +%H:%M:%S), load $(cut -d' ' -f1-3 /proc/loadavg))"
  for r in $(seq 1 "$ROUNDS"); do
    for d in "${dirs[@]}"; do
      [ -f "$d/bench-$r.json" ] && continue
      # The run's own pipeline.toml (resolved, with every --set) is the pipeline to evaluate it with.
      "$DATAMUX" eval "$d/pipeline.toml" --checkpoint "$d/model.safetensors" --set model.threads=1 \
        --out "$d/bench-tmp" --log-level quiet >/dev/null
      mv "$d/bench-tmp/results.json" "$d/bench-$r.json" && rm -rf "$d/bench-tmp"
    done
  done
}

table() {
  python3 - "$OUT" <<'PY'
import glob, json, os, re, statistics, sys
out = sys.argv[1]
def load(name, file="results.json"):
    p = os.path.join(out, name, file)
    return json.load(open(p)) if os.path.exists(p) else None
def speed(name):  # best inference ex/s of the throughput pass, else the run's own figure
    b = [load(name, os.path.basename(f))["inference_examples_per_s"] for f in glob.glob(os.path.join(out, name, "bench-*.json"))]
    return max(b) if b else load(name)["inference_examples_per_s"]
HOW = {"a": "(a) DataMUX from scratch (gaussian + index)", "b": "(b) DataMUX after the retrieval warm-up",
       "c": "(c) recipe, gaussian + index", "d": "(d) recipe, contextual + rsa",
       "e": "(e) control: contextual + rsa from scratch"}
print("| task | N | model and training | seed | test accuracy | per-index range | stage-2 masked-token accuracy | inference ex/s | x N = 1 | wall |")
print("|---|---|---|---|---|---|---|---|---|---|")
for task, label in (("brown", "Brown POS"), ("spam", "SpamAssassin")):
    for seed in sorted({int(m.group(1) or 1) for f in os.listdir(out) if (m := re.search(r"^(?:n1|[abcde]-\w+)-" + task + r"(?:-n\d+)?(?:-s(\d+))?$", f))}):
        sfx = "" if seed == 1 else f"-s{seed}"
        base = load(f"n1-{task}{sfx}")
        base_speed = speed(f"n1-{task}{sfx}") if base else None
        rows = [(1, "plain N = 1 (gaussian + index, from scratch)", f"n1-{task}{sfx}", None)]
        for n in (2, 5):
            for v, stem in (("a", "scratch"), ("b", "warmup"), ("c", "recipe"), ("d", "recipe"), ("e", "scratch")):
                pre = {"c": f"gi-stage2-{task}-n{n}{sfx}", "d": f"cr-stage2-{task}-n{n}{sfx}"}.get(v)
                rows.append((n, HOW[v], f"{v}-{stem}-{task}-n{n}{sfx}", pre))
        for n, how, name, pre in rows:
            r = load(name)
            if not r:
                continue
            per = r.get("per_instance_accuracy") or []
            spread = f"{min(per):.4f} - {max(per):.4f}" if len(per) > 1 else "-"
            p = load(pre) if pre else None
            mlm = f"{p['accuracy']:.4f}" if p else "-"
            s = speed(name)
            ratio = f"{s / base_speed:.2f}" if base_speed else "-"
            print(f"| {label} | {n} | {how} | {seed} | {r['accuracy']:.4f} | {spread} | {mlm} | {s:.0f} | {ratio} | {r['wall_seconds']:.0f} s |")
PY
}

if [ "${1:-}" != "--table" ]; then
  experiments
fi
throughput
table
