// Loadgen reports -> an SVG line chart.
#include <datamux/error.hpp>
#include <datamux/sweep/svg_chart.hpp>
#include <datamux/serve/bench_chart.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <string>

namespace datamux::serve {
namespace {

void check_shape(const nlohmann::json& results) {
  if (!results.is_object() || !results.contains("series") || !results["series"].is_object())
    throw InputError("bench results: expected {\"series\": {name: [loadgen report, ...]}}");
  for (const auto& [name, reports] : results["series"].items())
    if (!reports.is_array()) throw InputError(fmt::format("bench results: series \"{}\" is not a list", name));
}

double mean_n(const nlohmann::json& r) {
  double sum = 0, count = 0;
  for (const auto& [n, c] : r.at("n_used").items()) sum += std::stod(n) * c.get<double>(), count += c.get<double>();
  return count > 0 ? sum / count : 0;
}

std::string errors_text(const nlohmann::json& r) {
  std::string s;
  for (const auto& [code, c] : r.at("errors").items()) s += fmt::format("{}{}: {}", s.empty() ? "" : ", ", code, c.get<int64_t>());
  if (r.value("mismatched", 0) > 0) s += fmt::format("{}mismatched: {}", s.empty() ? "" : ", ", r["mismatched"].get<int64_t>());
  return s.empty() ? "-" : s;
}

bool sustained(const nlohmann::json& r, double target_ms) {
  return r.at("errors").empty() && r.value("mismatched", 0) == 0 &&
         r.at("throughput_per_s").get<double>() >= 0.9 * r.at("offered_rate").get<double>() &&
         r.at("latency_ms").at("p99").get<double>() <= target_ms;
}

}  // namespace

std::string latency_throughput_table(const nlohmann::json& results, double target_ms) {
  check_shape(results);
  std::string t = "| server | offered req/s | achieved req/s | p50 ms | p95 ms | p99 ms | mean N | errors |\n"
                  "|---|---:|---:|---:|---:|---:|---:|---|\n";
  std::string best;
  try {
    for (const auto& [name, reports] : results["series"].items()) {
      double top = 0;
      for (const auto& r : reports) {
        const auto& l = r.at("latency_ms");
        t += fmt::format("| {} | {:.0f} | {:.1f} | {:.1f} | {:.1f} | {:.1f} | {:.2f} | {} |\n", name,
                         r.at("offered_rate").get<double>(), r.at("throughput_per_s").get<double>(), l.at("p50").get<double>(),
                         l.at("p95").get<double>(), l.at("p99").get<double>(), mean_n(r), errors_text(r));
        if (sustained(r, target_ms)) top = std::max(top, r.at("offered_rate").get<double>());
      }
      best += fmt::format("- {}: {}\n", name, top > 0 ? fmt::format("{:.0f} req/s", top) : std::string("none of the rates"));
    }
  } catch (const nlohmann::json::exception& e) {
    throw InputError(fmt::format("bench results: {}", e.what()));
  }
  return t + fmt::format("\nLargest offered rate sustained (no errors, >= 90% answered per second, p99 <= {:.0f} ms):\n\n", target_ms) + best;
}

std::string latency_throughput_svg(const nlohmann::json& results, const std::string& title) {
  check_shape(results);
  runtime::sweep::Chart chart;
  chart.title = title;
  chart.x_label = "achieved throughput (requests/s)";
  chart.y_label = "p99 latency (ms)";
  chart.y_min = 0.0;
  for (const auto& [name, reports] : results["series"].items()) {
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
