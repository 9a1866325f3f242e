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
# Chromium's own console output is scanned for JavaScript errors too. Off unless DATAMUX_TEST_REPORT=1
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

# 1. The DOM, laid out, with the checker appended.
CHECKS="${WORK}/check.html"
sed 's#</body></html>##' "${OUT}/report.html" >"$CHECKS"
{ echo "<script>"; cat "${ROOT}/scripts/report_check/check.js"; echo "</script></body></html>"; } >>"$CHECKS"
browser --dump-dom "file://${CHECKS}" >"${WORK}/dom.html" 2>"${WORK}/dom.err" || { cat "${WORK}/dom.err"; fail "chromium --dump-dom failed"; }
VERDICT="$(grep -o 'data-check="[^"]*"' "${WORK}/dom.html" | head -1 | sed -e 's/^data-check="//' -e 's/"$//' -e 's/&quot;/"/g')"
[ -n "$VERDICT" ] || { head -c 2000 "${WORK}/dom.html"; fail "the checker script did not run (a JavaScript error?)"; }
say "DOM: ${VERDICT}"
python3 - "$VERDICT" "${OUT}/results.csv" <<'PY' || fail "the rendered page is not right (see the DOM line above)"
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
if grep -E 'Uncaught|CONSOLE.*(Error|error)' "${WORK}/dom.err"; then fail "JavaScript error in the console"; fi

# 2. The page as it is, to a PNG.
browser --window-size=1500,2400 --screenshot="${WORK}/report.png" "file://${OUT}/report.html" >"${WORK}/shot.log" 2>&1 ||
  { cat "${WORK}/shot.log"; fail "chromium --screenshot failed"; }
if grep -E 'Uncaught|CONSOLE.*(Error|error)' "${WORK}/shot.log"; then fail "JavaScript error in the console"; fi
python3 "${ROOT}/scripts/report_check/png_check.py" "${WORK}/report.png" "#4e79a7" || fail "the screenshot looks blank"
[ -z "${DATAMUX_REPORT_PNG:-}" ] || cp "${WORK}/report.png" "$DATAMUX_REPORT_PNG"

say "ok ($(($(date +%s) - START)) s)"
