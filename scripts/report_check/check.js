// Appended to a copy of report.html by scripts/test_report.sh and run by headless Chromium after the
// page has been parsed. It checks the page as laid out (not the HTML text): every chart is an <svg>
// with a non-zero size and at least one series whose line or points have a non-zero box; it counts the
// heatmap's cells (the script compares them with results.csv: one per run and instance index). The verdict goes into <body data-check="{json}"> for
// --dump-dom to print.
(function () {
  // test_report.sh puts a listener at the top of <head> that collects errors into window.__errors, so
  // errors of scripts earlier in the page count too.
  const errors = window.__errors || [];
  const verdict = { errors, charts: 0, empty: [], zero_size: [], heatmaps: 0, heatmap_cells: 0 };
  try {
    const charts = Array.from(document.querySelectorAll("svg.chart"));
    verdict.charts = charts.length;
    for (const svg of charts) {
      const name = svg.getAttribute("aria-label");
      const box = svg.getBoundingClientRect();
      if (box.width <= 0 || box.height <= 0) verdict.zero_size.push(name);
      const drawn = Array.from(svg.querySelectorAll("g.series")).filter((g) =>
        Array.from(g.querySelectorAll("polyline, circle")).some((el) => {
          const b = el.getBBox();
          return b.width > 0 || b.height > 0;
        }));
      if (drawn.length < 1) verdict.empty.push(name);
    }
    const heatmaps = Array.from(document.querySelectorAll("svg.heatmap"));
    verdict.heatmaps = heatmaps.length;
    for (const h of heatmaps) {
      const box = h.getBoundingClientRect();
      if (box.width <= 0 || box.height <= 0) verdict.zero_size.push(h.getAttribute("aria-label"));
      verdict.heatmap_cells += h.querySelectorAll("rect.cell").length;
    }
  } catch (e) {
    errors.push(String(e && e.stack ? e.stack : e));
  }
  document.body.setAttribute("data-check", JSON.stringify(verdict));
})();
