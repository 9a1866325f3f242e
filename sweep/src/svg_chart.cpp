// A small SVG line-chart writer: linear or log2 x, nice y ticks, error bars, legend on the right.
#include <datamux/sweep/svg_chart.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>

namespace datamux::runtime::sweep {
namespace {

// Tableau 10: distinguishable, and readable on white.
const char* const kColors[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                               "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};
constexpr double kLeft = 70, kRight = 280, kTop = 40, kBottom = 56;
constexpr std::size_t kLegendChars = 38;  // longer names are cut in the legend (the full name is the tooltip)

double nice_step(double range, int target) {
  double raw = range / target, mag = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0})
    if (raw <= m * mag) return m * mag;
  return 10 * mag;
}

std::string tick_label(double v) {
  if (v != 0 && (std::fabs(v) >= 1e5 || std::fabs(v) < 1e-3)) return fmt::format("{:.2g}", v);
  std::string s = fmt::format("{:.4f}", v);
  s.erase(s.find_last_not_of('0') + 1);
  if (s.back() == '.') s.pop_back();
  return s == "-0" ? "0" : s;
}

// A bold title's font size: 15 px, smaller when the title would not fit the chart's width (bold
// sans-serif runs about 0.6 em a character).
double title_size(const std::string& title, double width) {
  const double fit = (width - 20) / (0.6 * std::max<std::size_t>(1, title.size()));
  return std::clamp(fit, 9.0, 15.0);
}

}  // namespace

/// Long names keep their start and their end ("mux=contextual,heads=4,...,instances=16"): the end of a
/// run name is often what tells two rows apart.
std::string shorten_middle(const std::string& s, std::size_t max) {
  if (s.size() <= max || max < 8) return s;
  const std::size_t head = (max - 3) / 2, tail = max - 3 - head;
  return s.substr(0, head) + "..." + s.substr(s.size() - tail);
}

std::string xml_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

namespace {

// The plot area of a line chart: data ranges, their scales, and the y tick step.
struct Frame {
  std::set<double> xs;  // the finite x values
  double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
  bool log_x = false;
  double x0 = 0, x1 = 0, step = 0, pw = 0, ph = 0;

  double fx(double x) const { return log_x ? std::log2(x) : x; }
  double px(double x) const { return kLeft + (fx(x) - x0) / (x1 - x0) * pw; }
  double py(double y) const { return kTop + (1 - (y - ymin) / (ymax - ymin)) * ph; }
};

Frame chart_frame(const Chart& c) {
  Frame f;
  double &xmin = f.xmin, &xmax = f.xmax, &ymin = f.ymin, &ymax = f.ymax;
  for (const auto& s : c.series)
    for (const auto& p : s.points) {
      if (!std::isfinite(p.x) || !std::isfinite(p.y)) continue;
      xmin = std::min(xmin, p.x), xmax = std::max(xmax, p.x);
      ymin = std::min(ymin, p.y - p.err), ymax = std::max(ymax, p.y + p.err);
      f.xs.insert(p.x);
    }
  if (f.xs.empty()) xmin = 0, xmax = 1, ymin = 0, ymax = 1;
  if (!c.x_categories.empty()) xmin = 0, xmax = std::max(1.0, static_cast<double>(c.x_categories.size() - 1));
  f.log_x = c.log_x && xmin > 0;
  double x0 = f.fx(xmin), x1 = f.fx(xmax);
  if (x1 - x0 < 1e-12) x0 -= 1, x1 += 1;
  const double pad = (x1 - x0) * 0.04;
  f.x0 = x0 - pad, f.x1 = x1 + pad;
  if (c.y_min) ymin = *c.y_min;
  if (c.y_max) ymax = *c.y_max;
  if (ymax - ymin < 1e-12) ymin -= 0.5, ymax += 0.5;
  f.step = nice_step(ymax - ymin, 5);
  ymin = std::floor(ymin / f.step) * f.step, ymax = std::ceil(ymax / f.step) * f.step;
  f.pw = c.width - kLeft - kRight, f.ph = c.height - kTop - kBottom;
  return f;
}

std::string x_tick_label(const Chart& c, double x) {
  if (c.x_categories.empty()) return tick_label(x);
  auto i = static_cast<std::size_t>(std::llround(x));
  return i < c.x_categories.size() ? xml_escape(c.x_categories[i]) : std::string();
}

std::vector<double> x_ticks(const Chart& c, const Frame& f) {
  std::vector<double> xticks;
  if (!c.x_categories.empty()) {
    for (std::size_t i = 0; i < c.x_categories.size(); ++i) xticks.push_back(static_cast<double>(i));
  } else if ((c.integer_x || f.log_x) && f.xs.size() <= 16) {
    xticks.assign(f.xs.begin(), f.xs.end());
  } else {
    double xs_step = nice_step(f.xmax - f.xmin > 0 ? f.xmax - f.xmin : 1, 6);
    // Whole-number data (steps, N) get whole-number ticks.
    if (std::all_of(f.xs.begin(), f.xs.end(), [](double x) { return x == std::floor(x); })) xs_step = std::max(1.0, xs_step);
    for (double x = std::ceil(f.xmin / xs_step) * xs_step; x <= f.xmax + 1e-9; x += xs_step) xticks.push_back(x);
  }
  return xticks;
}

std::string chart_header(const Chart& c) {
  const double kWidth = c.width, kHeight = c.height;
  return fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
      "font-family=\"sans-serif\" font-size=\"12\" role=\"img\" aria-label=\"{2}\">\n"
      "<rect width=\"{0}\" height=\"{1}\" fill=\"white\"/>\n"
      "<text x=\"{3}\" y=\"22\" font-size=\"{4:.1f}\" font-weight=\"bold\" text-anchor=\"middle\">{2}</text>\n",
      kWidth, kHeight, xml_escape(c.title), kWidth / 2, title_size(c.title, kWidth));
}

// Axes, grid, ticks and axis labels.
std::string chart_axes(const Chart& c, const Frame& f) {
  const double pw = f.pw, ph = f.ph;
  std::string o = "<g class=\"axes\" stroke=\"#ccc\">\n";
  for (double y = f.ymin; y <= f.ymax + f.step / 2; y += f.step)
    o += fmt::format("<line x1=\"{:.1f}\" x2=\"{:.1f}\" y1=\"{:.1f}\" y2=\"{:.1f}\"/>\n", kLeft, kLeft + pw, f.py(y), f.py(y));
  o += "</g>\n<g class=\"ticks\" fill=\"#333\">\n";
  for (double y = f.ymin; y <= f.ymax + f.step / 2; y += f.step)
    o += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text>\n", kLeft - 6, f.py(y) + 4, tick_label(y));
  for (double x : x_ticks(c, f))
    o += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{}</text>\n", f.px(x), kTop + ph + 18,
                     x_tick_label(c, x));
  o += "</g>\n";
  o += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#333\"/>\n", kLeft, kTop, pw, ph);
  o += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{}</text>\n", kLeft + pw / 2, c.height - 12,
                   xml_escape(c.x_label + (f.log_x ? " (log scale)" : "")));
  o += fmt::format("<text transform=\"translate(16,{:.1f}) rotate(-90)\" text-anchor=\"middle\">{}</text>\n", kTop + ph / 2,
                   xml_escape(c.y_label));
  return o;
}

// One series: its line, and (unless it is a reference line) its points with error bars.
std::string chart_series(const Chart& c, const ChartSeries& s, const Frame& f, const std::string& col, const std::string& dash) {
  std::vector<ChartPoint> pts;
  for (const auto& p : s.points)
    if (std::isfinite(p.x) && std::isfinite(p.y)) pts.push_back(p);
  if (!s.keep_order) std::sort(pts.begin(), pts.end(), [](const ChartPoint& a, const ChartPoint& b) { return a.x < b.x; });
  std::string o = fmt::format("<g class=\"series\" data-name=\"{}\">\n", xml_escape(s.name));
  o += fmt::format("<title>{}</title>\n", xml_escape(s.name));
  if (pts.size() > 1) {
    o += "<polyline fill=\"none\" stroke=\"" + col + "\" stroke-width=\"2\"" + dash + " points=\"";
    for (const auto& p : pts) o += fmt::format("{:.1f},{:.1f} ", f.px(p.x), f.py(p.y));
    o += "\"/>\n";
  }
  if (!s.reference)
    for (const auto& p : pts) {
      if (p.err > 0)
        o += fmt::format("<line x1=\"{0:.1f}\" x2=\"{0:.1f}\" y1=\"{1:.1f}\" y2=\"{2:.1f}\" stroke=\"{3}\"/>\n", f.px(p.x),
                         f.py(std::min(f.ymax, p.y + p.err)), f.py(std::max(f.ymin, p.y - p.err)), col);
      o += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3.5\" fill=\"{}\"><title>{}: x={} y={}{}</title></circle>\n",
                       f.px(p.x), f.py(p.y), col, xml_escape(s.name), c.x_categories.empty() ? tick_label(p.x) : x_tick_label(c, p.x),
                       tick_label(p.y), p.err > 0 ? " ± " + tick_label(p.err) : "");
    }
  o += "</g>\n";
  return o;
}

std::string legend_entry(const std::string& name, const Frame& f, double ly, const std::string& col, const std::string& dash) {
  const double pw = f.pw;
  return fmt::format("<g class=\"legend\"><line x1=\"{0:.1f}\" x2=\"{1:.1f}\" y1=\"{2:.1f}\" y2=\"{2:.1f}\" stroke=\"{3}\" "
                     "stroke-width=\"3\"{4}/><text x=\"{5:.1f}\" y=\"{6:.1f}\">{7}</text></g>\n",
                     kLeft + pw + 12, kLeft + pw + 36, ly, col, dash, kLeft + pw + 42, ly + 4,
                     xml_escape(shorten_middle(name, kLegendChars)));
}

}  // namespace

std::string svg_line_chart(const Chart& c) {
  const Frame f = chart_frame(c);
  std::string o = chart_header(c) + chart_axes(c, f);
  // Series, then the legend.
  int color = 0;
  double ly = kTop + 8;
  for (const auto& s : c.series) {
    const std::string col = s.reference ? "#888" : kColors[color++ % 10];
    const std::string dash = s.reference ? " stroke-dasharray=\"6 4\"" : "";
    o += chart_series(c, s, f, col, dash);
    o += legend_entry(s.name, f, ly, col, dash);
    ly += 18;
  }
  o += "</svg>\n";
  return o;
}

std::string svg_heatmap(const Heatmap& h) {
  // Cells shrink with many columns (N = 40 fits in 600 px); row labels are cut like legend names.
  const double cw = std::clamp(600.0 / std::max<std::size_t>(1, h.cols.size()), 10.0, 40.0), ch = 16;
  constexpr double kLabels = 300, kTopH = 46, kScale = 90;
  const double width = kLabels + cw * h.cols.size() + kScale + 20, height = kTopH + ch * h.rows.size() + 44;
  auto color = [](double v) {
    v = std::clamp(v, 0.0, 1.0);  // white -> #08306b (dark blue)
    auto mix = [v](int lo, int hi) { return static_cast<int>(std::lround(lo + (hi - lo) * v)); };
    return fmt::format("#{:02x}{:02x}{:02x}", mix(255, 8), mix(255, 48), mix(255, 107));
  };
  std::string o = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"heatmap\" width=\"{0:.0f}\" height=\"{1:.0f}\" viewBox=\"0 0 {0:.0f} {1:.0f}\" "
      "font-family=\"sans-serif\" font-size=\"11\" role=\"img\" aria-label=\"{2}\">\n<rect width=\"{0:.0f}\" height=\"{1:.0f}\" fill=\"white\"/>\n"
      "<text x=\"10\" y=\"20\" font-size=\"15\" font-weight=\"bold\">{2}</text>\n",
      width, height, xml_escape(h.title));
  for (std::size_t r = 0; r < h.rows.size(); ++r) {
    const std::string& name = h.rows[r];
    o += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\"><title>{}</title>{}</text>\n", kLabels - 6,
                     kTopH + ch * r + ch - 4, xml_escape(name),
                     xml_escape(shorten_middle(name, 46)));
  }
  const std::size_t label_every = std::max<std::size_t>(1, static_cast<std::size_t>(std::ceil(24.0 / cw)));
  for (std::size_t c = 0; c < h.cols.size(); c += label_every)
    o += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{}</text>\n", kLabels + cw * c + cw / 2, kTopH - 6,
                     xml_escape(h.cols[c]));
  o += "<g class=\"cells\">\n";
  for (const auto& cell : h.cells) {
    if (!std::isfinite(cell.value) || cell.row >= h.rows.size() || cell.col >= h.cols.size()) continue;
    o += fmt::format("<rect class=\"cell\" x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"{}\" stroke=\"white\" "
                     "stroke-width=\"0.5\"><title>{} | {} {}: {:.4f}</title></rect>\n",
                     kLabels + cw * cell.col, kTopH + ch * cell.row, cw, ch, color(cell.value), xml_escape(h.rows[cell.row]),
                     xml_escape(h.x_label), xml_escape(h.cols[cell.col]), cell.value);
  }
  o += "</g>\n";
  o += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{}</text>\n", kLabels + cw * h.cols.size() / 2,
                   height - 12, xml_escape(h.x_label));
  // Colour scale: 0 at the bottom, 1 at the top.
  const double sx = kLabels + cw * h.cols.size() + 24, sh = std::min(160.0, ch * std::max<std::size_t>(h.rows.size(), 4));
  o += "<g class=\"scale\">\n";
  for (int i = 0; i < 10; ++i)
    o += fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"14\" height=\"{:.1f}\" fill=\"{}\"/>\n", sx,
                     kTopH + sh * (9 - i) / 10, sh / 10 + 0.5, color((i + 0.5) / 10));
  o += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\">1</text><text x=\"{:.1f}\" y=\"{:.1f}\">0</text>\n", sx + 18, kTopH + 10, sx + 18,
                   kTopH + sh);
  o += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\">{}</text>\n</g>\n</svg>\n", sx, kTopH + sh + 16, xml_escape(h.y_label));
  return o;
}

}  // namespace datamux::runtime::sweep
