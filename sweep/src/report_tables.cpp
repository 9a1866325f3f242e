// results.csv, results.json and report.md from a collected sweep.
#include <datamux/core/atomic_file.hpp>
#include <datamux/error.hpp>
#include <datamux/sweep/report.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <filesystem>
#include <set>

namespace datamux::runtime::sweep {
namespace {

// The results.json fields every row carries, in column order (resolved_pipeline is left out: it is a
// whole TOML file, and pipeline.toml sits in the run folder).
const char* const kFields[] = {"instances",  "mux",      "backbone", "demux",
                               "task",       "seed",     "steps",    "accuracy",
                               "loss",       "train_examples_per_s", "inference_examples_per_s",
                               "wall_seconds", "peak_rss_bytes",     "peak_tensor_bytes"};

std::string csv_field(std::string s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string plain(const nlohmann::json& v) {
  if (v.is_null()) return "";
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

std::set<double> all_x(const Table& t) {
  std::set<double> xs;
  for (const auto& [g, byx] : t)
    for (const auto& [x, c] : byx) xs.insert(x);
  return xs;
}

// One Markdown table: a row per group, a column per x value, best mean per column in bold.
std::string md_table(const SweepResults& r, const Table& t, const std::string& fmt_spec, const std::string& group_title,
                     bool higher_is_better = true) {
  auto ns = all_x(t);
  std::string o = "| " + group_title + " |";
  for (auto n : ns) {
    o += ' ';
    o += x_header(r, n);
    o += " |";
  }
  o += "\n|---|";
  for (std::size_t i = 0; i < ns.size(); ++i) o += "---|";
  o += "\n";
  const auto best = best_per_n(t, higher_is_better);
  for (const auto& [g, byn] : t) {
    o += "| " + g + " |";
    for (auto n : ns) {
      auto it = byn.find(n);
      std::string v = it == byn.end() ? "-" : format_cell(it->second, fmt_spec);
      if (it != byn.end() && best.count(n) && it->second.mean == best.at(n)) v = "**" + v + "**";
      o += " " + v + " |";
    }
    o += "\n";
  }
  return o;
}

std::string group_title(const SweepResults& r) {
  if (r.group_keys.empty()) return r.swept_keys.empty() && r.runs.size() && r.runs[0].group.find('/') != std::string::npos
                                      ? "mux/backbone/demux" : "runs";
  return fmt::format("{}", fmt::join(r.group_keys, ", "));
}

}  // namespace

// Cells are appended one by one (`o += ','; o += cell`): GCC 12 warns falsely (-Wrestrict) on
// `"," + std::string` here.
std::string results_csv(const SweepResults& r) {
  std::string o = "run";
  auto cell = [&o](const std::string& v) {
    o += ',';
    o += csv_field(v);
  };
  for (const auto& k : r.swept_keys) cell(k);
  for (const char* f : kFields) cell(f);
  cell("per_instance_accuracy");
  o += '\n';
  for (const auto& rec : r.runs) {
    o += csv_field(rec.name);
    for (const auto& k : r.swept_keys) cell(rec.settings.contains(k) ? plain(rec.settings[k]) : "");
    for (const char* f : kFields) cell(rec.results.contains(f) ? plain(rec.results[f]) : "");
    std::string per;
    if (rec.results.contains("per_instance_accuracy"))
      for (const auto& v : rec.results["per_instance_accuracy"]) {
        if (!per.empty()) per += ';';
        per += plain(v);
      }
    cell(per);
    o += '\n';
  }
  return o;
}

std::string results_json(const SweepResults& r) {
  nlohmann::json runs = nlohmann::json::array();
  for (const auto& rec : r.runs) {
    nlohmann::json row = {{"run", rec.name}, {"group", rec.group}, {"settings", rec.settings}};
    for (const auto& [k, v] : rec.results.items())
      if (k != "resolved_pipeline") row[k] = v;
    runs.push_back(std::move(row));
  }
  nlohmann::json j = {{"swept_keys", r.swept_keys}, {"group_keys", r.group_keys}, {"runs", runs}, {"unfinished", r.unfinished}};
  return j.dump(2) + "\n";
}

std::string report_markdown(const SweepResults& r) {
  std::set<int64_t> seeds;
  for (const auto& rec : r.runs) seeds.insert(rec.results.value("seed", int64_t{0}));
  std::string o = fmt::format("# Sweep report: {}\n\n{} finished runs", r.dir, r.runs.size());
  if (!r.unfinished.empty()) o += fmt::format(", {} unfinished ({})", r.unfinished.size(), fmt::join(r.unfinished, ", "));
  o += fmt::format(". Rows: {}; columns: {} ({}). Cells: mean ± std over {} seed{} ({}) and any swept key not a row or "
                   "column; best per column in bold.\n\n",
                   group_title(r), r.x_name, r.x_key, seeds.size(), seeds.size() == 1 ? "" : "s", fmt::join(seeds, ", "));
  const std::vector<std::pair<std::string, std::string>> standard = {
      {"accuracy", "Accuracy"},
      {"throughput_multiplier", fmt::format("Inference throughput multiplier (examples/s relative to the group's smallest {})", r.x_name)},
      {"inference_examples_per_s", "Inference examples/s"},
      {"train_examples_per_s", "Training examples/s"},
      {"loss", "Loss (held-out)"}};
  auto spec = [](const std::string& m) {
    if (m == "throughput_multiplier") return "{:.2f}";
    if (m.find("accuracy") != std::string::npos || m == "loss") return "{:.4f}";
    return m == "wall_seconds" ? "{:.1f}" : "{:.0f}";
  };
  // The chosen metric (--y) first.
  std::vector<std::pair<std::string, std::string>> sections = {{r.y_metric, r.y_metric}};
  for (const auto& [m, heading] : standard) {
    if (m == r.y_metric) sections.front().second = heading;
    else sections.emplace_back(m, heading);
  }
  for (const auto& [m, heading] : sections)
    o += "## " + heading + "\n\n" + md_table(r, aggregate(r, m), spec(m), group_title(r), !lower_is_better(m)) + "\n";
  const int64_t index_n = per_index_n(r);
  o += fmt::format("## Accuracy per instance index at N = {} (the largest N some row keeps at 50% or more; mean over seeds)\n\n| ",
                   index_n) + group_title(r) + " | N | min | mean | max | per index |\n|---|---|---|---|---|---|\n";
  for (const auto& [g, per] : per_index_accuracy(r, index_n)) {
    if (per.empty()) continue;
    double lo = per[0], hi = per[0], sum = 0;
    for (double v : per) lo = std::min(lo, v), hi = std::max(hi, v), sum += v;
    std::string list;
    for (double v : per) list += fmt::format("{}{:.3f}", list.empty() ? "" : " ", v);
    o += fmt::format("| {} | {} | {:.4f} | {:.4f} | {:.4f} | {} |\n", g, per.size(), lo, sum / per.size(), hi, list);
  }
  o += "\nPer-run figures: results.csv, results.json. Charts: report.html.\n";
  return o;
}

std::vector<std::string> write_report(const SweepResults& r) {
  namespace fs = std::filesystem;
  std::vector<std::pair<std::string, std::string>> files = {{"results.csv", results_csv(r)},
                                                            {"results.json", results_json(r)},
                                                            {"report.md", report_markdown(r)},
                                                            {"report.html", report_html(r)}};
  std::vector<std::string> paths;
  for (const auto& [name, content] : files) {
    paths.push_back((fs::path(r.dir) / name).string());
    write_file_atomic(paths.back(), content);
  }
  return paths;
}

std::vector<std::string> write_charts(const SweepResults& r, const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir))
    throw InputError(fmt::format("--svg {}: cannot create the folder ({}); give a folder path", dir, ec ? ec.message() : "a file is in the way"));
  std::vector<std::string> paths;
  for (const auto& c : report_charts(r)) {
    paths.push_back((fs::path(dir) / (c.name + ".svg")).string());
    write_file_atomic(paths.back(), c.svg);
  }
  return paths;
}

}  // namespace datamux::runtime::sweep
