// datamux/sweep/svg_chart.hpp - line charts as inline SVG text, for report.html.
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
  std::vector<std::string> x_categories;  // categorical x: x = 0, 1, ... labelled with these
  double width = 820, height = 400;       // outer size in px (the legend takes 280 px on the right)
};

/// One cell of a heatmap: row r, column c, a value in [0, 1] (NaN draws nothing).
struct HeatmapCell {
  std::size_t row = 0, col = 0;
  double value = 0;
};

struct Heatmap {
  std::string title, x_label, y_label;
  std::vector<std::string> rows, cols;  // labels
  std::vector<HeatmapCell> cells;
};

/// `<svg ...>...</svg>`, one `<g class="series">` per series, with a legend entry each.
std::string svg_line_chart(const Chart& chart);

/// `<svg class="heatmap">`: one `<rect class="cell">` per cell, coloured from white (0) to dark blue (1),
/// each with its row, column and value as a tooltip, and a colour scale.
std::string svg_heatmap(const Heatmap& h);

/// `s` cut to `max` characters by replacing its middle with "...".
std::string shorten_middle(const std::string& s, std::size_t max);

/// Escapes &, <, >, " for XML/HTML text and attributes.
std::string xml_escape(const std::string& s);

}  // namespace datamux::runtime::sweep
