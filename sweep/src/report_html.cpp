// report.html: one self-contained page (inline CSS and SVG, no script, no network) with the charts a
// person reads first (the chosen metric against x, throughput, per-index accuracy as lines and as a
// heatmap, the trade-off, training curves), and the tables behind them.
#include <datamux/sweep/report.hpp>
#include <datamux/sweep/svg_chart.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cctype>
#include <cmath>
#include <map>
#include <set>

namespace datamux::runtime::sweep {
namespace {

bool wants_log_x(const SweepResults& r, const Table& t) {
  if (!r.x_categories.empty()) return false;
  double lo = INFINITY, hi = 0;
  for (const auto& [g, byx] : t)
    for (const auto& [x, c] : byx) lo = std::min(lo, x), hi = std::max(hi, x);
  return lo > 0 && hi >= 8 * lo;
}

std::vector<ChartSeries> series_of(const Table& t) {
  std::vector<ChartSeries> out;
  for (const auto& [g, byx] : t) {
    ChartSeries s{g, {}, false};
    for (const auto& [x, c] : byx) s.points.push_back({x, c.mean, c.std});
    out.push_back(std::move(s));
  }
  return out;
}

std::string html_table(const SweepResults& r, const Table& t, const std::string& spec, const std::string& title, bool higher_is_better) {
  std::set<double> xs;
  for (const auto& [g, byx] : t)
    for (const auto& [x, c] : byx) xs.insert(x);
  std::string o = "<table>\n<tr><th>" + xml_escape(title) + "</th>";
  for (auto x : xs) o += "<th>" + xml_escape(x_header(r, x)) + "</th>";
  o += "</tr>\n";
  const auto best = best_per_n(t, higher_is_better);
  for (const auto& [g, byx] : t) {
    o += "<tr><td>" + xml_escape(g) + "</td>";
    for (auto x : xs) {
      auto it = byx.find(x);
      if (it == byx.end()) {
        o += "<td>-</td>";
        continue;
      }
      const bool mark = best.count(x) && it->second.mean == best.at(x);
      o += (mark ? "<td class=\"best\">" : "<td>") + format_cell(it->second, spec) + "</td>";
    }
    o += "</tr>\n";
  }
  return o + "</table>\n";
}

std::string metric_title(const std::string& m) {
  static const std::map<std::string, std::string> names = {
      {"accuracy", "Accuracy"},
      {"loss", "Loss"},
      {"min_instance_accuracy", "Lowest per-index accuracy"},
      {"inference_examples_per_s", "Inference examples/s"},
      {"train_examples_per_s", "Training examples/s"},
      {"throughput_multiplier", "Inference throughput multiplier"},
      {"wall_seconds", "Wall time (s)"},
      {"peak_rss_bytes", "Peak RSS (bytes)"},
      {"peak_tensor_bytes", "Peak tensor memory (bytes)"}};
  auto it = names.find(m);
  return it == names.end() ? m : it->second;
}

bool is_fraction(const std::string& m) { return m.find("accuracy") != std::string::npos; }

std::string spec_of(const std::string& m) {
  if (is_fraction(m) || m == "loss") return "{:.4f}";
  if (m == "throughput_multiplier") return "{:.2f}";
  if (m == "wall_seconds") return "{:.1f}";
  return "{:.0f}";
}

// A file name stem from a title: lower-case letters and digits, anything else one '_'.
std::string slug(const std::string& text) {
  std::string o;
  for (char c : text) {
    if (std::isalnum(static_cast<unsigned char>(c))) o += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    else if (!o.empty() && o.back() != '_') o += '_';
  }
  while (!o.empty() && o.back() == '_') o.pop_back();
  return o.empty() ? "chart" : o;
}

// One cell per run and instance index: where a mux loses which instance, run by run.
Heatmap index_heatmap(const SweepResults& r) {
  Heatmap h;
  h.title = "Accuracy per instance index, run by run";
  h.x_label = "instance index";
  h.y_label = "accuracy";
  std::size_t cols = 0;
  for (const auto& rec : r.runs) {
    if (!rec.results.contains("per_instance_accuracy") || !rec.results["per_instance_accuracy"].is_array()) continue;
    const auto& per = rec.results["per_instance_accuracy"];
    const std::size_t row = h.rows.size();
    h.rows.push_back(rec.name);
    for (std::size_t i = 0; i < per.size(); ++i)
      if (per[i].is_number()) h.cells.push_back({row, i, per[i].get<double>()});
    cols = std::max(cols, per.size());
  }
  for (std::size_t i = 0; i < cols; ++i) h.cols.push_back(std::to_string(i));
  return h;
}

// Training curves: per group, one chart of the training loss and one of the accuracy by step, a line
// per x value (mean over the runs sharing group and x).
std::vector<ReportChart> curve_charts(const SweepResults& r) {
  const auto loss = curves(r, "loss"), acc = curves(r, "accuracy");
  bool validation = false;
  for (const auto& rec : r.runs)
    for (const auto& p : rec.curve) validation = validation || p.validation;
  std::vector<ReportChart> o;
  for (const auto& [g, byx] : loss) {
    Chart l;
    l.title = "Training loss by step: " + g;
    l.x_label = "step";
    l.y_label = "training loss";
    l.width = 660;
    l.height = 320;
    Chart a;
    a.title = (validation ? "Validation accuracy by step: " : "Training accuracy by step: ") + g;
    a.x_label = "step";
    a.y_label = validation ? "validation accuracy" : "training accuracy";
    a.y_max = 1.0;
    a.width = 660;
    a.height = 320;
    for (const auto& [x, bystep] : byx) {
      ChartSeries s{x_header(r, x), {}, false};
      for (const auto& [step, v] : bystep) s.points.push_back({static_cast<double>(step), v, 0});
      l.series.push_back(std::move(s));
    }
    if (auto it = acc.find(g); it != acc.end())
      for (const auto& [x, bystep] : it->second) {
        ChartSeries s{x_header(r, x), {}, false};
        for (const auto& [step, v] : bystep) s.points.push_back({static_cast<double>(step), v, 0});
        a.series.push_back(std::move(s));
      }
    o.push_back({"curve_loss_" + slug(g), ReportChart::kCurves, svg_line_chart(l)});
    o.push_back({"curve_accuracy_" + slug(g), ReportChart::kCurves, svg_line_chart(a)});
  }
  return o;
}

std::string x_axis_label(const SweepResults& r) {
  return r.x_key == "model.instances" ? "N (instances multiplexed)" : r.x_key;
}

Chart chosen_chart(const SweepResults& r, const Table& main) {
  Chart chosen;
  chosen.title = fmt::format("{} vs {}", metric_title(r.y_metric), r.x_name);
  chosen.x_label = x_axis_label(r);
  chosen.y_label = metric_title(r.y_metric) + (r.y_metric == "accuracy" ? " (held-out, mean ± std)" : " (mean ± std)");
  chosen.series = series_of(main);
  chosen.log_x = wants_log_x(r, main);
  chosen.integer_x = true;
  chosen.x_categories = r.x_categories;
  if (is_fraction(r.y_metric)) chosen.y_min = 0.0, chosen.y_max = 1.0;  // error bars do not push it past [0, 1]
  if (r.y_metric == "throughput_multiplier") chosen.y_min = 0.0;
  return chosen;
}

Chart multiplier_chart(const SweepResults& r, const Table& mult) {
  Chart multiplier;
  multiplier.title = fmt::format("Inference throughput multiplier vs {}", r.x_name);
  multiplier.x_label = x_axis_label(r);
  multiplier.y_label = fmt::format("examples/s relative to smallest {}", r.x_name);
  multiplier.series = series_of(mult);
  multiplier.log_x = wants_log_x(r, mult);
  multiplier.y_min = 0.0;
  multiplier.integer_x = true;
  multiplier.x_categories = r.x_categories;
  if (r.x_key == "model.instances") {
    // The ideal: N instances per backbone pass for the price of one.
    ChartSeries ideal{"ideal (= N / smallest N)", {}, true};
    std::set<double> ns;
    for (const auto& [g, byx] : mult)
      for (const auto& [n, c] : byx) ns.insert(n);
    for (auto n : ns) ideal.points.push_back({n, n / *ns.begin(), 0});
    if (!ns.empty()) multiplier.series.push_back(ideal);
  }
  return multiplier;
}

Chart per_index_chart(const SweepResults& r) {
  const int64_t index_n = per_index_n(r);
  Chart per_index;
  per_index.title = fmt::format("Accuracy per instance index at N = {}", index_n);
  per_index.x_label = "instance index i";
  per_index.y_label = "accuracy";
  per_index.y_max = 1.0;
  per_index.integer_x = true;
  for (const auto& [g, per] : per_index_accuracy(r, index_n)) {
    ChartSeries s{g, {}, false};
    for (std::size_t i = 0; i < per.size(); ++i) s.points.push_back({static_cast<double>(i), per[i], 0});
    per_index.series.push_back(std::move(s));
  }
  return per_index;
}

Chart tradeoff_chart(const SweepResults& r) {
  const Table acc = aggregate(r, "accuracy"), tput = aggregate(r, "inference_examples_per_s");
  Chart tradeoff;
  tradeoff.title = fmt::format("Accuracy against inference throughput (a path through {})", r.x_name);
  tradeoff.x_label = "inference examples/s";
  tradeoff.y_label = "accuracy";
  tradeoff.y_max = 1.0;
  for (const auto& [g, byx] : acc) {
    ChartSeries s{g, {}, false, /*keep_order=*/true};
    for (const auto& [x, c] : byx)
      if (auto it = tput.find(g); it != tput.end() && it->second.count(x)) s.points.push_back({it->second.at(x).mean, c.mean, 0});
    tradeoff.series.push_back(std::move(s));
  }
  return tradeoff;
}

}  // namespace

std::vector<ReportChart> report_charts(const SweepResults& r) {
  std::vector<ReportChart> out;
  out.push_back({slug(r.y_metric + "_vs_" + r.x_name), ReportChart::kMain, svg_line_chart(chosen_chart(r, aggregate(r, r.y_metric)))});
  if (r.y_metric != "throughput_multiplier")  // else the chosen chart is that one
    out.push_back({slug("throughput_multiplier_vs_" + r.x_name), ReportChart::kMain,
                   svg_line_chart(multiplier_chart(r, throughput_multiplier(r)))});
  out.push_back({"accuracy_per_index", ReportChart::kMain, svg_line_chart(per_index_chart(r))});
  out.push_back({"accuracy_vs_throughput", ReportChart::kMain, svg_line_chart(tradeoff_chart(r))});
  out.push_back({"accuracy_per_index_heatmap", ReportChart::kHeatmap, svg_heatmap(index_heatmap(r))});
  for (auto& c : curve_charts(r)) out.push_back(std::move(c));
  return out;
}

std::string report_html(const SweepResults& r) {
  const std::string title = r.group_keys.empty() ? "runs" : fmt::format("{}", fmt::join(r.group_keys, ", "));
  const auto charts = report_charts(r);
  auto section = [&](ReportChart::Section which) {
    std::string o;
    for (const auto& c : charts)
      if (c.section == which) o += c.svg;
    return o;
  };
  std::string o = fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>datamux sweep report: {0}</title>\n"
      "<style>body{{font-family:sans-serif;margin:2em;color:#222;max-width:1500px}} .charts{{display:flex;flex-wrap:wrap;gap:16px}}"
      " table{{border-collapse:collapse;margin:1em 0}} td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}}"
      " td:first-child,th:first-child{{text-align:left}} td.best{{font-weight:bold;background:#eef6ee}} .note{{color:#555}}</style>\n"
      "</head><body>\n<h1>Sweep report: {0}</h1>\n<p class=\"note\">{1} finished runs{2}. x: {4}; lines: {3}. Error bars: std over "
      "the runs a point averages (seeds).</p>\n<div class=\"charts\">\n",
      xml_escape(r.dir), r.runs.size(),
      r.unfinished.empty() ? "" : fmt::format(", {} unfinished ({})", r.unfinished.size(), xml_escape(fmt::format("{}", fmt::join(r.unfinished, ", ")))),
      xml_escape(title), xml_escape(r.x_key));
  o += section(ReportChart::kMain);
  o += "</div>\n<h2>Accuracy per instance index</h2>\n<div class=\"charts\">\n" + section(ReportChart::kHeatmap) + "</div>\n";
  const std::string curve_svgs = section(ReportChart::kCurves);
  o += "<h2>Training curves</h2>\n";
  o += curve_svgs.empty() ? "<p class=\"note\">No run has a metrics.csv (runs made before datamux logged training curves).</p>\n"
                          : "<div class=\"charts\">\n" + curve_svgs + "</div>\n";
  std::vector<std::string> tables = {r.y_metric};
  for (const char* m : {"accuracy", "throughput_multiplier", "inference_examples_per_s"})
    if (m != r.y_metric) tables.push_back(m);
  for (const auto& m : tables)
    o += "<h2>" + xml_escape(metric_title(m)) + "</h2>\n" + html_table(r, aggregate(r, m), spec_of(m), title, !lower_is_better(m));
  o += "<p class=\"note\">Per-run figures: results.csv and results.json next to this page.</p>\n</body></html>\n";
  return o;
}

}  // namespace datamux::runtime::sweep
