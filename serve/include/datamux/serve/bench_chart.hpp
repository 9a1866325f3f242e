// datamux/serve/bench_chart.hpp - the latency-throughput chart of docs/serving.md, drawn with the
// sweep layer's SVG line chart (sweep/src/svg_chart.cpp).
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace datamux::serve {

/// `results` = {"series": {"fixed N=1": [loadgen report, ...], ...}}, each list in order of offered
/// rate. One line per series through (throughput_per_s, p99 ms). Throws InputError when the shape
/// differs.
std::string latency_throughput_svg(const nlohmann::json& results, const std::string& title);

/// The same results as a Markdown table (one row per run: offered and achieved rate, p50/p95/p99, the
/// mean N used, errors by code) followed by each series' largest sustained rate: the highest offered
/// rate answered without errors, at >= 90% of the offered rate, with p99 <= target_ms.
std::string latency_throughput_table(const nlohmann::json& results, double target_ms);

}  // namespace datamux::serve
