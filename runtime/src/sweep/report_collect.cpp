// Reading a sweep folder's runs and aggregating their metrics per group and N.
#include <datamux/error.hpp>
#include <datamux/runtime/sweep/grid.hpp>
#include <datamux/runtime/sweep/report.hpp>
#include <datamux/runtime/sweep/run_folder.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

namespace datamux::runtime::sweep {
namespace fs = std::filesystem;
namespace {

std::string value_text(const nlohmann::json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

Cell cell_of(const std::vector<double>& v) {
  Cell c;
  c.count = static_cast<int>(v.size());
  if (v.empty()) return c;
  for (double x : v) c.mean += x;
  c.mean /= v.size();
  if (v.size() > 1) {
    double ss = 0;
    for (double x : v) ss += (x - c.mean) * (x - c.mean);
    c.std = std::sqrt(ss / (v.size() - 1));
  }
  return c;
}

}  // namespace

SweepResults collect_results(const std::string& dir) {
  if (!fs::is_directory(dir)) throw InputError(fmt::format("{}: not a folder (give the sweep's output folder, e.g. runs/mux_vs_n)", dir));
  SweepResults r;
  r.dir = dir;
  std::vector<fs::path> folders;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_directory()) folders.push_back(e.path());
  std::sort(folders.begin(), folders.end());
  for (const auto& f : folders) {
    auto results = finished_results(f.string());
    if (!results) {
      // Only folders a sweep made (or that look like runs) count as unfinished; other folders are not runs.
      if (fs::exists(f / kRunInfoFile) || fs::exists(f / kLockFile)) r.unfinished.push_back(f.filename().string());
      continue;
    }
    RunRecord rec;
    rec.name = f.filename().string();
    rec.results = std::move(*results);
    rec.settings = nlohmann::json::object();
    std::ifstream info(f / kRunInfoFile);
    if (info) {
      auto j = nlohmann::json::parse(info, nullptr, false);
      if (j.is_object() && j.contains("settings") && j["settings"].is_object()) rec.settings = j["settings"];
      if (j.is_object() && j.contains("swept_keys") && j["swept_keys"].is_array())
        for (const auto& k : j["swept_keys"])
          if (k.is_string() && std::find(r.swept_keys.begin(), r.swept_keys.end(), k.get<std::string>()) == r.swept_keys.end())
            r.swept_keys.push_back(k.get<std::string>());
    }
    for (const auto& [k, v] : rec.settings.items())
      if (std::find(r.swept_keys.begin(), r.swept_keys.end(), k) == r.swept_keys.end()) r.swept_keys.push_back(k);
    rec.instances = rec.results.value("instances", int64_t{0});
    r.runs.push_back(std::move(rec));
  }
  if (r.runs.empty())
    throw InputError(fmt::format("{}: no finished run (no sub-folder with a complete results.json){}", dir,
                                 r.unfinished.empty() ? "" : fmt::format("; {} unfinished", r.unfinished.size())));
  for (const auto& k : r.swept_keys)
    if (k != "model.instances" && k != "model.seed") r.group_keys.push_back(k);
  for (auto& rec : r.runs) {
    std::string g;
    // Only the keys this run sets: with a table-valued axis (mux = [{plugin, norm}, {plugin}]) some
    // runs do not set every key.
    for (const auto& k : r.group_keys) {
      if (!rec.settings.contains(k)) continue;
      if (!g.empty()) g += ",";
      g += short_key(k) + "=" + value_text(rec.settings[k]);
    }
    // Plain run folders (no sweep): group by the chain itself.
    if (r.swept_keys.empty())
      g = fmt::format("{}/{}/{}", rec.results.value("mux", "?"), rec.results.value("backbone", "?"), rec.results.value("demux", "?"));
    rec.group = g.empty() ? "all runs" : g;
  }
  std::stable_sort(r.runs.begin(), r.runs.end(), [](const RunRecord& a, const RunRecord& b) {
    if (a.group != b.group) return a.group < b.group;
    if (a.instances != b.instances) return a.instances < b.instances;
    return a.results.value("seed", int64_t{0}) < b.results.value("seed", int64_t{0});
  });
  return r;
}

Table aggregate(const SweepResults& r, const std::string& field) {
  std::map<std::string, std::map<int64_t, std::vector<double>>> values;
  for (const auto& rec : r.runs)
    if (rec.results.contains(field) && rec.results[field].is_number())
      values[rec.group][rec.instances].push_back(rec.results[field].get<double>());
  Table out;
  for (const auto& [g, byn] : values)
    for (const auto& [n, v] : byn) out[g][n] = cell_of(v);
  return out;
}

Table throughput_multiplier(const SweepResults& r) {
  auto tp = aggregate(r, "inference_examples_per_s");
  Table out;
  for (const auto& [g, byn] : tp) {
    const Cell& ref = byn.begin()->second;  // smallest N of the group
    if (ref.mean <= 0) continue;
    for (const auto& [n, c] : byn) out[g][n] = Cell{c.mean / ref.mean, c.std / ref.mean, c.count};
  }
  return out;
}

std::string format_cell(const Cell& c, const std::string& spec) {
  std::string v = fmt::format(fmt::runtime(spec), c.mean);
  if (c.count > 1) v += " ± " + fmt::format(fmt::runtime(spec), c.std);
  return v;
}

std::map<int64_t, double> best_per_n(const Table& t, bool higher_is_better) {
  std::map<int64_t, std::vector<double>> means;
  for (const auto& [g, byn] : t)
    for (const auto& [n, c] : byn) means[n].push_back(c.mean);
  std::map<int64_t, double> best;
  for (const auto& [n, v] : means) {
    auto [lo, hi] = std::minmax_element(v.begin(), v.end());
    if (*lo != *hi) best[n] = higher_is_better ? *hi : *lo;
  }
  return best;
}

int64_t per_index_n(const SweepResults& r) {
  int64_t largest = 0, informative = 0;
  for (const auto& [g, byn] : aggregate(r, "accuracy"))
    for (const auto& [n, c] : byn) {
      largest = std::max(largest, n);
      if (c.mean >= 0.5) informative = std::max(informative, n);
    }
  return informative > 0 ? informative : largest;
}

std::map<std::string, std::vector<double>> per_index_accuracy(const SweepResults& r, int64_t n) {
  std::map<std::string, std::vector<double>> sum;
  std::map<std::string, int> count;
  for (const auto& rec : r.runs) {
    if (rec.instances != n || !rec.results.contains("per_instance_accuracy")) continue;
    const auto& per = rec.results["per_instance_accuracy"];
    auto& s = sum[rec.group];
    s.resize(per.size(), 0.0);
    for (std::size_t i = 0; i < per.size() && i < s.size(); ++i) s[i] += per[i].get<double>();
    ++count[rec.group];
  }
  for (auto& [g, s] : sum)
    for (double& v : s) v /= count[g];
  return sum;
}

}  // namespace datamux::runtime::sweep
