#!/usr/bin/env bash
# scripts/bench_serve.sh - latency against throughput of `datamux serve` on this machine, for three
# servers over the same bundle: fixed N = 1, fixed N = max, and the latency policy. Each offered rate
# is one open-loop `datamux loadgen` run; then an overload run at twice the latency policy's largest
# sustained rate checks load shedding (429) and memory. Writes:
#   bench-results/serve/*.json        every loadgen report, the server logs, summary.json
#   docs/serving-chart.svg            p99 latency against achieved throughput, one line per server
#   docs/serving.md                   the table between its "bench:begin" and "bench:end" markers
# Everything talks to 127.0.0.1 only. Trains the bundle first when it is missing (one sweep).
#
#   scripts/bench_serve.sh                       # defaults below
#   RATES="50 100 200" DURATION=5 scripts/bench_serve.sh
#   CURVES=0 scripts/bench_serve.sh              # reuse $OUT/summary.json, rerun only the overload part
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
DATAMUX="${DATAMUX:-build/bin/datamux}"
BUNDLE="${BUNDLE:-runs/spam_bundle}"
RATES="${RATES:-25 50 100 200 300 400 600 800 1200 1600}"
DURATION="${DURATION:-8}"
TARGET_MS="${TARGET_MS:-50}"
PORT="${PORT:-18090}"
OUT="${OUT:-bench-results/serve}"
DOC="${DOC:-docs/serving.md}"
SVG="${SVG:-docs/serving-chart.svg}"

# The dispatcher runs in bursts: OpenMP threads that sleep between passes leave the cores to the HTTP
# threads and the load generator.
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-passive}"

log() { printf 'bench_serve: %s\n' "$*" >&2; }

[ -x "$DATAMUX" ] || { log "no $DATAMUX: build first (scripts/build.sh)"; exit 2; }
if ! ls "$BUNDLE"/instances=*/results.json >/dev/null 2>&1; then
  log "no bundle in $BUNDLE: training it (datamux sweep examples/serving/spam_bundle.toml)"
  "$DATAMUX" sweep examples/serving/spam_bundle.toml --jobs 1
fi
MODELS=()
NS=()
for dir in $(ls -d "$BUNDLE"/instances=* | sort -t= -k2 -n); do
  [ -f "$dir/results.json" ] || continue
  MODELS+=(--model "$dir")
  NS+=("${dir##*=}")
done
NMAX="${NS[${#NS[@]}-1]}"
mkdir -p "$OUT"
LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
log "bundle N = ${NS[*]}; rates ${RATES}; ${DURATION}s each; load average ${LOAD_BEFORE}"

SERVER_PID=""
start_server() {  # name, serve options...
  local name="$1"
  shift
  "$DATAMUX" serve "${MODELS[@]}" --port "$PORT" "$@" >"$OUT/$name.server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 600); do
    grep -q "listening on" "$OUT/$name.server.log" 2>/dev/null && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || { log "server $name failed:"; cat "$OUT/$name.server.log" >&2; exit 1; }
    sleep 0.1
  done
  log "server $name did not start"
  exit 1
}
stop_server() {
  kill -TERM "$SERVER_PID"
  local code=0
  wait "$SERVER_PID" || code=$?
  [ "$code" -eq 0 ] || { log "server exited with $code after SIGTERM"; exit 1; }
}
json_number() {  # file, key: the first "key": number in the file
  sed -n "s/.*\"$2\": \([0-9.e+-]*\).*/\1/p" "$1" | head -1
}
rss() { curl -s "http://127.0.0.1:$PORT/metrics" | sed -n 's/^process_resident_memory_bytes \([0-9]*\)$/\1/p'; }

run_series() {  # name, label, serve options...
  local name="$1" label="$2"
  shift 2
  start_server "$name" "$@"
  local files=()
  for rate in $RATES; do
    local f="$OUT/$name-$rate.json"
    "$DATAMUX" loadgen --url "http://127.0.0.1:$PORT" --rate "$rate" --duration "$DURATION" --quiet --out "$f" >/dev/null
    files+=("$f")
    local p99 thr
    p99="$(json_number "$f" p99)"
    thr="$(json_number "$f" throughput_per_s)"
    log "$label: offered $rate/s -> $(printf '%.1f' "$thr")/s, p99 $(printf '%.1f' "$p99") ms"
    # Far past saturation: higher rates only queue more (the generator stops at the same point).
    if awk -v t="$thr" -v r="$rate" -v p="$p99" -v m="$TARGET_MS" 'BEGIN { exit !(t < 0.6 * r && p > 20 * m) }'; then
      log "$label: saturated, skipping higher rates"
      break
    fi
  done
  stop_server
  SERIES_JSON+="$( [ -n "$SERIES_JSON" ] && echo ,)\"$label\": [$(for f in "${files[@]}"; do cat "$f"; echo ,; done | sed '$ d')]"
}

SERIES_JSON=""
if [ "${CURVES:-1}" != 0 ]; then
  run_series fixed1 "fixed N=1" --policy fixed --n 1
  run_series fixedmax "fixed N=$NMAX" --policy fixed --n "$NMAX"
  run_series latency "latency policy ${TARGET_MS} ms" --policy latency --target-ms "$TARGET_MS"
  printf '{"series": {%s}}\n' "$SERIES_JSON" >"$OUT/summary.json"
fi
"$DATAMUX" loadgen chart "$OUT/summary.json" --svg "$SVG" --table "$OUT/table.md" --target-ms "$TARGET_MS" \
  --title "datamux serve, spam Transformer bundle N = ${NS[*]}: p99 latency against throughput"

# Overload: twice the latency policy's largest sustained rate (or its highest rate). More connections
# than the server's queue holds, so that the queue, not the generator, is where requests wait.
SUSTAINED="$(sed -n "s/^- latency policy ${TARGET_MS} ms: \([0-9]*\) req\/s$/\1/p" "$OUT/table.md")"
OVER=$(( 2 * ${SUSTAINED:-${RATES##* }} ))
start_server overload --policy latency --target-ms "$TARGET_MS" --queue 64 --http-threads 512
RSS_START="$(rss)"
"$DATAMUX" loadgen --url "http://127.0.0.1:$PORT" --rate "$OVER" --duration "$DURATION" --connections 400 --quiet --out "$OUT/overload-a.json" >/dev/null
RSS_MID="$(rss)"
"$DATAMUX" loadgen --url "http://127.0.0.1:$PORT" --rate "$OVER" --duration "$DURATION" --connections 400 --quiet --out "$OUT/overload-b.json" >/dev/null
RSS_END="$(rss)"
stop_server
LOAD_AFTER="$(cut -d' ' -f1-3 /proc/loadavg)"
overload_line() {  # file
  local f="$1"
  printf '%s/s offered: %s answered 200 (%.1f/s, p99 %.1f ms), refused: %s' "$OVER" "$(json_number "$f" ok)" \
    "$(json_number "$f" throughput_per_s)" "$(json_number "$f" p99)" \
    "$(tr -d '\n' <"$f" | sed -n 's/.*"errors": {\([^}]*\)}.*/\1/p' | tr -s ' ')"
}

{
  echo "<!-- bench:begin (written by scripts/bench_serve.sh; do not edit by hand) -->"
  echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) cores ($(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)),"
  echo "${DURATION} s per point, load average ${LOAD_BEFORE} before and ${LOAD_AFTER} after (other work shared the machine)."
  echo "Bundle: \`$BUNDLE\`, N = ${NS[*]}; service times at start-up (ms per pass):"
  echo
  echo '```'
  grep -h "warm-up" "$OUT/latency.server.log" "$OUT/overload.server.log"
  echo '```'
  echo
  cat "$OUT/table.md"
  echo
  echo "Overload (latency policy, queue of 64 inputs, 400 connections), two runs back to back:"
  echo
  echo "- run 1: $(overload_line "$OUT/overload-a.json")"
  echo "- run 2: $(overload_line "$OUT/overload-b.json")"
  echo "- resident memory: $((RSS_START / 1048576)) MiB at start, $((RSS_MID / 1048576)) MiB after run 1, $((RSS_END / 1048576)) MiB after run 2"
  echo
  echo "![p99 latency against throughput]($(basename "$SVG"))"
  echo "<!-- bench:end -->"
} >"$OUT/section.md"

if grep -q "bench:begin" "$DOC"; then
  awk -v section="$OUT/section.md" '
    /bench:begin/ { while ((getline line < section) > 0) print line; skip = 1; next }
    /bench:end/ { skip = 0; next }
    !skip { print }' "$DOC" >"$DOC.tmp" && mv "$DOC.tmp" "$DOC"
else
  cat "$OUT/section.md" >>"$DOC"
fi
log "wrote $DOC, $SVG and $OUT/"
