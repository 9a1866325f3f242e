// datamux/sweep/report.hpp - merging a sweep folder's runs into tables and charts.
//
// Every sub-folder with a finished results.json is one row; its swept values come from sweep_run.json
// (written by `datamux sweep`), so a folder of plain `datamux run` outputs works too (N, mux, demux and
// seed are in every results.json). The x axis is one swept key (default N), rows are grouped by others
// (default: every swept key but x and the seed): each group is one line in a chart and one row in a
// table, mean ± std over the runs that share group and x (the seeds, and any swept key left out).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace datamux::runtime::sweep {

/// One row of a run's metrics.csv (the training curve the trainer writes as it goes).
struct CurvePoint {
  int64_t step = 0;
  bool validation = false;  // split: train or validation
  double loss = 0, accuracy = 0;
};

struct RunRecord {
  std::string name;                  // the run folder's name
  nlohmann::json settings;           // swept key -> value (object; empty for a plain run folder)
  nlohmann::json results;            // results.json (plus min_instance_accuracy when it has per-index figures)
  std::string group;                 // "mux=gaussian,demux=index" (see group_keys)
  int64_t instances = 0;             // N
  double x = 0;                      // position on the x axis: the x key's value, or its category's index
  int64_t grid_index = -1;           // the run's place in the sweep grid (sweep_run.json), -1 unknown
  std::vector<CurvePoint> curve;     // metrics.csv, empty when the run has none
};

/// What `datamux report --x/--y/--group` choose; empty fields take the defaults.
struct ReportOptions {
  std::string x;      // a swept key or its short name; default model.instances (N)
  std::string y;      // a metric (see SweepResults::metrics); default accuracy
  std::string group;  // comma-separated swept keys or "none"; default every swept key but x and the seed
};

struct SweepResults {
  std::string dir;
  std::vector<std::string> swept_keys;   // union over runs, first-seen order
  std::vector<std::string> group_keys;   // the keys that make a group (the chosen or default --group)
  std::vector<RunRecord> runs;           // sorted by group (natural order), then x, then seed
  std::vector<std::string> unfinished;   // run folders without a finished results.json
  std::string x_key = "model.instances"; // the x axis
  std::string x_name = "N";              // its name in headers: N, heads, demux, ...
  std::vector<std::string> x_categories; // non-numeric x values in grid order (x = index); empty when numeric
  std::string y_metric = "accuracy";     // the metric of the main chart and table
  std::vector<std::string> metrics;      // every metric --y accepts
};

/// Reads every run folder under `dir`. Throws InputError when `dir` is not a folder or holds no finished
/// run, or when an option names a key or metric the runs do not have (the message lists the choices).
SweepResults collect_results(const std::string& dir, const ReportOptions& options = {});

/// Group names in natural order: numbers inside compare by value ("instances=4" before "instances=12").
struct NaturalLess {
  bool operator()(const std::string& a, const std::string& b) const;
};
/// group -> value, groups in natural order.
template <class V>
using ByGroup = std::map<std::string, V, NaturalLess>;

/// Mean, sample std and count of a metric over the runs of one group and one x.
struct Cell {
  double mean = 0, std = 0;
  int count = 0;
};
/// group -> x -> cell.
using Table = ByGroup<std::map<double, Cell>>;
/// group -> x -> cell, for a numeric results.json field (e.g. "accuracy"), or "throughput_multiplier".
Table aggregate(const SweepResults& r, const std::string& field);
/// group -> x -> inference examples/s relative to the group's smallest x (1 at N = 1 when x is N).
Table throughput_multiplier(const SweepResults& r);
/// x -> the best mean over the groups, for the tables to mark. An x where every group ties (or only one
/// group has it) is left out: there is nothing to single out.
std::map<double, double> best_per_n(const Table& t, bool higher_is_better = true);
/// Whether a smaller value of the metric is better (loss, wall time, memory).
bool lower_is_better(const std::string& metric);
/// "N=4", "demux=mlp": an x value as a table header.
std::string x_header(const SweepResults& r, double x);
/// The x value alone, for ticks: "4", "mlp".
std::string x_text(const SweepResults& r, double x);
/// group -> x -> step -> mean (over the group's runs at x) of a training-curve column: "loss" of the
/// train rows, "accuracy" of the validation rows (of the train rows for runs without validation rows).
ByGroup<std::map<double, std::map<int64_t, double>>> curves(const SweepResults& r, const std::string& column);
/// "0.9300 ± 0.0141" (the std only when the cell has more than one run), `spec` a fmt spec like "{:.4f}".
std::string format_cell(const Cell& c, const std::string& spec);
/// The N the per-index view shows: the largest N at which some group still reaches 50% accuracy (past it,
/// every index is near chance and the view shows noise), else the largest N.
int64_t per_index_n(const SweepResults& r);
/// group -> mean per-instance-index accuracy over the group's runs at N = n (groups without n are left out).
ByGroup<std::vector<double>> per_index_accuracy(const SweepResults& r, int64_t n);

/// Writes results.csv, results.json, report.md and report.html into r.dir (each atomically); returns their paths.
std::vector<std::string> write_report(const SweepResults& r);

std::string results_csv(const SweepResults& r);
std::string results_json(const SweepResults& r);
std::string report_markdown(const SweepResults& r);
std::string report_html(const SweepResults& r);

/// One chart of report.html as a standalone SVG document (for `datamux report --svg DIR`).
struct ReportChart {
  enum Section { kMain, kHeatmap, kCurves };
  std::string name;  // file stem: accuracy_vs_n, throughput_multiplier_vs_n, curve_loss_mux_gaussian, ...
  Section section = kMain;
  std::string svg;
};
/// report.html's charts in page order.
std::vector<ReportChart> report_charts(const SweepResults& r);
/// Writes each chart as DIR/<name>.svg (atomically, creating DIR); returns the paths.
std::vector<std::string> write_charts(const SweepResults& r, const std::string& dir);

}  // namespace datamux::runtime::sweep
