// Loadgen reports -> an SVG line chart.
#include <datamux/error.hpp>
#include <datamux/runtime/sweep/svg_chart.hpp>
#include <datamux/serve/bench_chart.hpp>

#include <fmt/format.h>

namespace datamux::serve {

std::string latency_throughput_svg(const nlohmann::json& results, const std::string& title) {
  if (!results.is_object() || !results.contains("series") || !results["series"].is_object())
    throw InputError("bench results: expected {\"series\": {name: [loadgen report, ...]}}");
  runtime::sweep::Chart chart;
  chart.title = title;
  chart.x_label = "achieved throughput (requests/s)";
  chart.y_label = "p99 latency (ms)";
  chart.y_min = 0.0;
  for (const auto& [name, reports] : results["series"].items()) {
    if (!reports.is_array()) throw InputError(fmt::format("bench results: series \"{}\" is not a list", name));
    runtime::sweep::ChartSeries s;
    s.name = name;
    s.keep_order = true;  // by offered rate: the curve bends back when the server saturates
    for (const auto& r : reports) {
      try {
        s.points.push_back({r.at("throughput_per_s").get<double>(), r.at("latency_ms").at("p99").get<double>(), 0});
      } catch (const nlohmann::json::exception& e) {
        throw InputError(fmt::format("bench results: series \"{}\": {}", name, e.what()));
      }
    }
    chart.series.push_back(std::move(s));
  }
  return runtime::sweep::svg_line_chart(chart);
}

}  // namespace datamux::serve
