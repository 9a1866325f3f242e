// datamux/runtime/sweep/report.hpp - merging a sweep folder's runs into tables and charts.
//
// Every sub-folder with a finished results.json is one row; its swept values come from sweep_run.json
// (written by `datamux sweep`), so a folder of plain `datamux run` outputs works too (N, mux, demux and
// seed are in every results.json). Rows are grouped by the swept keys other than N and the seed: each
// group is one line in a chart and one row in a table, mean ± std over the seeds.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace datamux::runtime::sweep {

struct RunRecord {
  std::string name;                  // the run folder's name
  nlohmann::json settings;           // swept key -> value (object; empty for a plain run folder)
  nlohmann::json results;            // results.json
  std::string group;                 // "mux=gaussian,demux=index" (see group_keys)
  int64_t instances = 0;             // N
};

struct SweepResults {
  std::string dir;
  std::vector<std::string> swept_keys;   // union over runs, first-seen order
  std::vector<std::string> group_keys;   // swept keys but model.instances and model.seed
  std::vector<RunRecord> runs;           // sorted by group, then N, then seed
  std::vector<std::string> unfinished;   // run folders without a finished results.json
};

/// Reads every run folder under `dir`. Throws InputError when `dir` is not a folder or holds no finished run.
SweepResults collect_results(const std::string& dir);

/// Mean, sample std and count of a metric over the runs of one group and one N.
struct Cell {
  double mean = 0, std = 0;
  int count = 0;
};
/// group -> N -> cell.
using Table = std::map<std::string, std::map<int64_t, Cell>>;
/// group -> N -> cell, for a numeric results.json field (e.g. "accuracy").
Table aggregate(const SweepResults& r, const std::string& field);
/// group -> N -> inference examples/s relative to the group's smallest N (1 when N = 1 was run).
Table throughput_multiplier(const SweepResults& r);
/// N -> the best mean over the groups, for the tables to mark. An N where every group ties (or only one
/// group has it) is left out: there is nothing to single out.
std::map<int64_t, double> best_per_n(const Table& t, bool higher_is_better = true);
/// "0.9300 ± 0.0141" (the std only when the cell has more than one run), `spec` a fmt spec like "{:.4f}".
std::string format_cell(const Cell& c, const std::string& spec);
/// The N the per-index view shows: the largest N at which some group still reaches 50% accuracy (past it,
/// every index is near chance and the view shows noise), else the largest N.
int64_t per_index_n(const SweepResults& r);
/// group -> mean per-instance-index accuracy over the group's runs at N = n (groups without n are left out).
std::map<std::string, std::vector<double>> per_index_accuracy(const SweepResults& r, int64_t n);

/// Writes results.csv, results.json, report.md and report.html into r.dir (each atomically); returns their paths.
std::vector<std::string> write_report(const SweepResults& r);

std::string results_csv(const SweepResults& r);
std::string results_json(const SweepResults& r);
std::string report_markdown(const SweepResults& r);
std::string report_html(const SweepResults& r);

}  // namespace datamux::runtime::sweep
