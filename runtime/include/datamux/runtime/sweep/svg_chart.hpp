// datamux/runtime/sweep/svg_chart.hpp - line charts as inline SVG text, for report.html.
//
// No scripts, fonts or network: the SVG draws its own axes, ticks, labels, legend and error bars, so the
// page reads the same offline, in a browser or a file viewer.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace datamux::runtime::sweep {

struct ChartPoint {
  double x = 0, y = 0;
  double err = 0;  // half-height of the error bar (0 = none), e.g. the std over seeds
};

struct ChartSeries {
  std::string name;
  std::vector<ChartPoint> points;  // drawn in x order, or as given with keep_order
  bool reference = false;          // a dashed grey guide line (e.g. the ideal multiplier y = N)
  bool keep_order = false;         // join the points as given (a path through N), not by x
};

struct Chart {
  std::string title, x_label, y_label;
  std::vector<ChartSeries> series;
  bool log_x = false;             // log2 x axis (N = 1, 2, 4, 8, ...)
  std::optional<double> y_min, y_max;  // fixed y range; otherwise from the data
  bool integer_x = false;         // x ticks at the data's x values (N, instance index)
};

/// `<svg ...>...</svg>`, one `<g class="series">` per series, with a legend entry each.
std::string svg_line_chart(const Chart& chart);

/// Escapes &, <, >, " for XML/HTML text and attributes.
std::string xml_escape(const std::string& s);

}  // namespace datamux::runtime::sweep
