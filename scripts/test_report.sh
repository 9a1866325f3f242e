#!/usr/bin/env bash
# scripts/test_report.sh - report.html as a person sees it: rendered by headless Chromium.
#
# Runs a small real sweep (tests/sweep/data/small.toml: 4 tiny runs), `datamux report`s it, then opens
# report.html in Debian's headless `chromium` (installed here on first use) twice:
#   1. with a checker script appended (scripts/report_check/check.js) that counts, in the laid-out DOM,
#      one <svg> per chart, >= 1 series per chart with a drawn line or point of non-zero size, heatmap
#      cells, and records any JavaScript error; its verdict is read back with --dump-dom;
#   2. as it is, to a PNG screenshot, which must not be blank: enough non-white pixels, and the first
#      series colour actually drawn (scripts/report_check/png_check.py).
# Chromium's own console output is scanned for JavaScript errors too. Then it checks the check: copies of
# the page with a planted JavaScript error, with its first chart's series removed, and a blank page must
# each be rejected. Off unless DATAMUX_TEST_REPORT=1
# (it installs a browser); scripts/test.sh runs it. Needs root (or sudo) only to install chromium.
set -euo pipefail

if [ "${DATAMUX_TEST_REPORT:-0}" != 1 ]; then
  echo "test_report.sh: skipped (set DATAMUX_TEST_REPORT=1)"
  exit 0
fi

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${DATAMUX_BUILD_DIR:-${ROOT}/build}"
DATAMUX="${BUILD_DIR}/bin/datamux"
START=$(date +%s)
say() { echo "test_report.sh: $*"; }
fail() { say "FAIL: $*"; exit 1; }

[ -x "$DATAMUX" ] || { say "no ${DATAMUX}: build first (scripts/build.sh)"; exit 1; }
if ! command -v chromium >/dev/null; then
  say "installing chromium"
  as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium >/dev/null ||
    { as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
      as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium >/dev/null; }
fi
command -v python3 >/dev/null || fail "python3 is needed to read the screenshot"

WORK="$(mktemp -d /tmp/datamux-report.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
OUT="${WORK}/sweep"
"$DATAMUX" sweep "${ROOT}/tests/sweep/data/small.toml" --out "$OUT" --jobs 2 >"${WORK}/sweep.log" 2>&1 ||
  { cat "${WORK}/sweep.log"; fail "the sweep failed"; }
"$DATAMUX" report "$OUT" >/dev/null
say "sweep and report: $(($(date +%s) - START)) s"

# Headless Chromium as root needs --no-sandbox; a throwaway profile keeps it off ~/.config.
browser() {
  timeout 120 chromium --headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run \
    --user-data-dir="${WORK}/profile" --enable-logging=stderr --v=0 --hide-scrollbars "$@"
}

# check_page PAGE: 0 when the page renders right, 1 (with the reasons) when it does not.
check_page() {
  local page="$1" name
  name="$(basename "$page" .html)"
  # 1. The DOM, laid out, with an error listener first in <head> and the checker last in <body>.
  local checks="${WORK}/${name}.check.html"
  sed -e 's#<head>#<head><script>window.__errors=[];addEventListener("error",e=>__errors.push(String(e.message)))</script>#' \
    -e 's#</body></html>##' "$page" >"$checks"
  { echo "<script>"; cat "${ROOT}/scripts/report_check/check.js"; echo "</script></body></html>"; } >>"$checks"
  browser --dump-dom "file://${checks}" >"${WORK}/${name}.dom" 2>"${WORK}/${name}.err" ||
    { cat "${WORK}/${name}.err"; say "chromium --dump-dom failed"; return 1; }
  local verdict
  verdict="$(grep -o 'data-check="[^"]*"' "${WORK}/${name}.dom" | head -1 | sed -e 's/^data-check="//' -e 's/"$//' -e 's/&quot;/"/g')"
  [ -n "$verdict" ] || { say "the checker script did not run (a JavaScript error?)"; return 1; }
  say "${name}: DOM ${verdict}"
  python3 - "$verdict" "${OUT}/results.csv" <<'PY' || return 1
import csv, json, sys
v = json.loads(sys.argv[1])
runs = list(csv.DictReader(open(sys.argv[2])))
expected_cells = sum(int(r["instances"]) for r in runs)  # one per run and instance index
problems = []
if v["errors"]: problems.append("JavaScript errors: %s" % v["errors"])
if v["charts"] < 5: problems.append("%d charts, expected at least 5" % v["charts"])
if v["empty"]: problems.append("charts without a visible series: %s" % v["empty"])
if v["heatmaps"] != 1: problems.append("%d heatmaps, expected 1" % v["heatmaps"])
if v["heatmap_cells"] != expected_cells: problems.append("%d heatmap cells, expected %d" % (v["heatmap_cells"], expected_cells))
if v["zero_size"]: problems.append("svgs laid out with zero size: %s" % v["zero_size"])
for p in problems: print("test_report.sh: " + p)
sys.exit(1 if problems else 0)
PY
  if grep -E 'Uncaught|CONSOLE.*(Error|error)' "${WORK}/${name}.err"; then say "JavaScript error in the console"; return 1; fi
  # 2. The page as it is, to a PNG that must not be blank.
  browser --window-size=1500,2400 --screenshot="${WORK}/${name}.png" "file://${page}" >"${WORK}/${name}.shot" 2>&1 ||
    { cat "${WORK}/${name}.shot"; say "chromium --screenshot failed"; return 1; }
  if grep -E 'Uncaught|CONSOLE.*(Error|error)' "${WORK}/${name}.shot"; then say "JavaScript error in the console"; return 1; fi
  python3 "${ROOT}/scripts/report_check/png_check.py" "${WORK}/${name}.png" "#4e79a7" || { say "the screenshot looks blank"; return 1; }
}

check_page "${OUT}/report.html" || fail "report.html does not render right"
[ -z "${DATAMUX_REPORT_PNG:-}" ] || cp "${WORK}/report.png" "$DATAMUX_REPORT_PNG"

# The check itself must catch what it is for: a page with a JavaScript error, a page whose first chart
# lost its series, and a blank page each fail.
sed 's#</body>#<script>throw new Error("planted by test_report.sh")</script></body>#' "${OUT}/report.html" >"${WORK}/js_error.html"
python3 - "${OUT}/report.html" "${WORK}/empty_chart.html" <<'PY'
import re, sys
html = open(sys.argv[1]).read()
first = html.index('<svg xmlns="http://www.w3.org/2000/svg" class="chart"')
end = html.index("</svg>", first)
chart = re.sub(r'<g class="series".*?</g>\n', "", html[first:end], flags=re.S)
open(sys.argv[2], "w").write(html[:first] + chart + html[end:])
PY
printf '<!DOCTYPE html><html><head><meta charset="utf-8"></head><body></body></html>\n' >"${WORK}/blank.html"
for broken in js_error empty_chart blank; do
  if check_page "${WORK}/${broken}.html" >"${WORK}/${broken}.verdict" 2>&1; then
    cat "${WORK}/${broken}.verdict"
    fail "the check passed ${broken}.html, which it must reject"
  fi
  say "${broken}.html rejected: $(grep -v ': DOM ' "${WORK}/${broken}.verdict" | head -1)"
done
# And the screenshot check on its own: a blank page's PNG fails it.
browser --window-size=1500,2400 --screenshot="${WORK}/blank.png" "file://${WORK}/blank.html" >/dev/null 2>&1
if python3 "${ROOT}/scripts/report_check/png_check.py" "${WORK}/blank.png" "#4e79a7" >"${WORK}/blank.png.verdict"; then
  fail "png_check.py passed a blank screenshot"
fi
say "blank.png rejected: $(tail -1 "${WORK}/blank.png.verdict")"

say "ok ($(($(date +%s) - START)) s)"
