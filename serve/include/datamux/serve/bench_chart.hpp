// datamux/serve/bench_chart.hpp - the latency-throughput chart of docs/serving.md, drawn with the
// runtime's SVG line chart (runtime/src/sweep/svg_chart.cpp).
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace datamux::serve {

/// `results` = {"series": {"fixed N=1": [loadgen report, ...], ...}}, each list in order of offered
/// rate. One line per series through (throughput_per_s, p99 ms). Throws InputError when the shape
/// differs.
std::string latency_throughput_svg(const nlohmann::json& results, const std::string& title);

}  // namespace datamux::serve
