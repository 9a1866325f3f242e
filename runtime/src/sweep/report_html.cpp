// report.html: one self-contained page (inline CSS and SVG, no script, no network) with the charts a
// person reads first, and the tables behind them.
#include <datamux/runtime/sweep/report.hpp>
#include <datamux/runtime/sweep/svg_chart.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <set>

namespace datamux::runtime::sweep {
namespace {

bool wants_log_x(const Table& t) {
  int64_t lo = INT64_MAX, hi = 0;
  for (const auto& [g, byn] : t)
    for (const auto& [n, c] : byn) lo = std::min(lo, n), hi = std::max(hi, n);
  return lo > 0 && hi >= 8 * lo;
}

std::vector<ChartSeries> series_of(const Table& t) {
  std::vector<ChartSeries> out;
  for (const auto& [g, byn] : t) {
    ChartSeries s{g, {}, false};
    for (const auto& [n, c] : byn) s.points.push_back({static_cast<double>(n), c.mean, c.std});
    out.push_back(std::move(s));
  }
  return out;
}

std::string html_table(const Table& t, const std::string& spec, const std::string& title) {
  std::set<int64_t> ns;
  for (const auto& [g, byn] : t)
    for (const auto& [n, c] : byn) ns.insert(n);
  std::string o = "<table>\n<tr><th>" + xml_escape(title) + "</th>";
  for (auto n : ns) o += fmt::format("<th>N={}</th>", n);
  o += "</tr>\n";
  const auto best = best_per_n(t);
  for (const auto& [g, byn] : t) {
    o += "<tr><td>" + xml_escape(g) + "</td>";
    for (auto n : ns) {
      auto it = byn.find(n);
      if (it == byn.end()) {
        o += "<td>-</td>";
        continue;
      }
      const bool mark = best.count(n) && it->second.mean == best.at(n);
      o += (mark ? "<td class=\"best\">" : "<td>") + format_cell(it->second, spec) + "</td>";
    }
    o += "</tr>\n";
  }
  return o + "</table>\n";
}

}  // namespace

std::string report_html(const SweepResults& r) {
  const Table acc = aggregate(r, "accuracy"), mult = throughput_multiplier(r), tput = aggregate(r, "inference_examples_per_s");
  std::string title = r.group_keys.empty() ? "runs" : fmt::format("{}", fmt::join(r.group_keys, ", "));

  Chart accuracy{"Accuracy vs N", "N (instances multiplexed)", "held-out accuracy (mean ± std over seeds)", series_of(acc),
                 wants_log_x(acc), std::nullopt, std::nullopt, true};
  accuracy.y_max = 1.0;

  Chart multiplier{"Inference throughput multiplier vs N", "N (instances multiplexed)", "examples/s relative to smallest N",
                   series_of(mult), wants_log_x(mult), 0.0, std::nullopt, true};
  // The ideal: N instances per backbone pass for the price of one.
  ChartSeries ideal{"ideal (= N / smallest N)", {}, true};
  std::set<int64_t> ns;
  for (const auto& [g, byn] : mult)
    for (const auto& [n, c] : byn) ns.insert(n);
  if (!ns.empty())
    for (auto n : ns) ideal.points.push_back({static_cast<double>(n), static_cast<double>(n) / *ns.begin(), 0});
  multiplier.series.push_back(ideal);

  const int64_t index_n = per_index_n(r);
  Chart per_index{fmt::format("Accuracy per instance index at N = {}", index_n), "instance index i", "accuracy", {}, false,
                  std::nullopt, 1.0, true};
  for (const auto& [g, per] : per_index_accuracy(r, index_n)) {
    ChartSeries s{g, {}, false};
    for (std::size_t i = 0; i < per.size(); ++i) s.points.push_back({static_cast<double>(i), per[i], 0});
    per_index.series.push_back(std::move(s));
  }

  Chart tradeoff{"Accuracy against inference throughput (a path through N)", "inference examples/s", "accuracy", {}, false,
                 std::nullopt, 1.0, false};
  for (const auto& [g, byn] : acc) {
    ChartSeries s{g, {}, false, /*keep_order=*/true};
    for (const auto& [n, c] : byn)
      if (auto it = tput.find(g); it != tput.end() && it->second.count(n)) s.points.push_back({it->second.at(n).mean, c.mean, 0});
    tradeoff.series.push_back(std::move(s));
  }

  std::string o = fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>datamux sweep report: {0}</title>\n"
      "<style>body{{font-family:sans-serif;margin:2em;color:#222;max-width:1500px}} .charts{{display:flex;flex-wrap:wrap;gap:16px}}"
      " table{{border-collapse:collapse;margin:1em 0}} td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}}"
      " td:first-child,th:first-child{{text-align:left}} td.best{{font-weight:bold;background:#eef6ee}} .note{{color:#555}}</style>\n"
      "</head><body>\n<h1>Sweep report: {0}</h1>\n<p class=\"note\">{1} finished runs{2}. Lines: {3}. Error bars: std over seeds.</p>\n"
      "<div class=\"charts\">\n",
      xml_escape(r.dir), r.runs.size(),
      r.unfinished.empty() ? "" : fmt::format(", {} unfinished ({})", r.unfinished.size(), xml_escape(fmt::format("{}", fmt::join(r.unfinished, ", ")))),
      xml_escape(title));
  for (const Chart* c : {&accuracy, &multiplier, &per_index, &tradeoff}) o += svg_line_chart(*c);
  o += "</div>\n<h2>Accuracy</h2>\n" + html_table(acc, "{:.4f}", title);
  o += "<h2>Inference throughput multiplier</h2>\n" + html_table(mult, "{:.2f}", title);
  o += "<h2>Inference examples/s</h2>\n" + html_table(tput, "{:.0f}", title);
  o += "<p class=\"note\">Per-run figures: results.csv and results.json next to this page.</p>\n</body></html>\n";
  return o;
}

}  // namespace datamux::runtime::sweep
