// Reading a sweep folder's runs and aggregating their metrics per group and N.
#include <datamux/error.hpp>
#include <datamux/sweep/grid.hpp>
#include <datamux/sweep/report.hpp>
#include <datamux/sweep/run_folder.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <optional>

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

// The lowest per-index accuracy: the instance a multiplexer serves worst (a metric --y can choose).
void add_min_instance_accuracy(nlohmann::json& results) {
  if (results.contains("min_instance_accuracy") || !results.contains("per_instance_accuracy")) return;
  const auto& per = results["per_instance_accuracy"];
  if (!per.is_array() || per.empty()) return;
  double lo = 1.0;
  for (const auto& v : per)
    if (v.is_number()) lo = std::min(lo, v.get<double>());
  results["min_instance_accuracy"] = lo;
}

// metrics.csv: step,split,loss,accuracy,... A missing file or a malformed row (a run killed mid-line
// leaves half a row) is skipped: curves are a view, not a result the report must have.
std::vector<CurvePoint> read_curve(const fs::path& path) {
  std::vector<CurvePoint> out;
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line) || line.rfind("step,split,loss,accuracy", 0) != 0) return out;
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    std::size_t start = 0;
    for (int i = 0; i < 4; ++i) {
      auto comma = line.find(',', start);
      f.push_back(line.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    if (f.size() < 4 || (f[1] != "train" && f[1] != "validation")) continue;
    try {
      std::size_t used = 0;
      CurvePoint p;
      p.step = std::stoll(f[0], &used);
      if (used != f[0].size()) continue;
      p.validation = f[1] == "validation";
      p.loss = std::stod(f[2]);
      p.accuracy = std::stod(f[3]);
      out.push_back(p);
    } catch (const std::exception&) {
      continue;
    }
  }
  return out;
}

// A swept key named by the user: the full key or its short name ("instances", "mux").
std::optional<std::string> resolve_key(const std::vector<std::string>& keys, const std::string& name) {
  for (const auto& k : keys)
    if (k == name) return k;
  for (const auto& k : keys)
    if (short_key(k) == name) return k;
  return std::nullopt;
}

std::string key_choices(const std::vector<std::string>& keys) {
  std::vector<std::string> out;
  for (const auto& k : keys) out.push_back(short_key(k) == k ? k : fmt::format("{} ({})", k, short_key(k)));
  return fmt::format("{}", fmt::join(out, ", "));
}

void choose_x(SweepResults& r, const ReportOptions& o) {
  // x: any swept key; N is always there (every results.json has it).
  std::vector<std::string> x_choices = r.swept_keys;
  if (std::find(x_choices.begin(), x_choices.end(), "model.instances") == x_choices.end())
    x_choices.insert(x_choices.begin(), "model.instances");
  if (!o.x.empty()) {
    auto k = resolve_key(x_choices, o.x);
    if (!k) throw InputError(fmt::format("--x {}: not a swept key of {}; choose one of: {}", o.x, r.dir, key_choices(x_choices)));
    r.x_key = *k;
  }
  r.x_name = r.x_key == "model.instances" ? "N" : short_key(r.x_key);
}

// y: the numeric results.json fields every run has, and the throughput multiplier.
void choose_metric(SweepResults& r, const ReportOptions& o) {
  std::map<std::string, std::size_t> seen;
  for (const auto& rec : r.runs)
    for (const auto& [k, v] : rec.results.items())
      if (v.is_number() && k != "instances" && k != "seed") ++seen[k];
  for (const auto& [k, n] : seen)
    if (n == r.runs.size()) r.metrics.push_back(k);
  r.metrics.push_back("throughput_multiplier");
  if (!o.y.empty()) {
    if (std::find(r.metrics.begin(), r.metrics.end(), o.y) == r.metrics.end())
      throw InputError(fmt::format("--y {}: not a metric every run of {} has; choose one of: {}", o.y, r.dir,
                                   fmt::join(r.metrics, ", ")));
    r.y_metric = o.y;
  }
}

// group: the swept keys but x and the seed, unless chosen.
void choose_groups(SweepResults& r, const ReportOptions& o) {
  if (o.group.empty()) {
    for (const auto& k : r.swept_keys)
      if (k != r.x_key && k != "model.seed") r.group_keys.push_back(k);
    return;
  }
  if (o.group == "none") return;
  std::size_t start = 0;
  while (start <= o.group.size()) {
    auto comma = o.group.find(',', start);
    std::string name = o.group.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    start = comma == std::string::npos ? o.group.size() + 1 : comma + 1;
    auto k = resolve_key(r.swept_keys, name);
    if (!k)
      throw InputError(fmt::format("--group {}: {} is not a swept key of {}; choose among: {} (several joined by commas), or none",
                                   o.group, name.empty() ? "\"\"" : name, r.dir, key_choices(r.swept_keys)));
    if (*k == r.x_key) throw InputError(fmt::format("--group {}: {} is already the x axis (--x); group by other keys", o.group, *k));
    if (std::find(r.group_keys.begin(), r.group_keys.end(), *k) == r.group_keys.end()) r.group_keys.push_back(*k);
  }
}

nlohmann::json x_value(const SweepResults& r, const RunRecord& rec) {
  if (rec.settings.contains(r.x_key)) return rec.settings[r.x_key];
  if (r.x_key == "model.instances") return rec.instances;
  return "(unset)";
}

// x positions: the value itself when every run's value is a number, else its category's index, the
// categories in grid order (the order the sweep file lists them).
void place_runs_on_x(SweepResults& r) {
  bool numeric = true;
  for (const auto& rec : r.runs) numeric = numeric && x_value(r, rec).is_number();
  if (numeric) {
    for (auto& rec : r.runs) rec.x = x_value(r, rec).get<double>();
    return;
  }
  std::vector<const RunRecord*> by_grid;
  for (const auto& rec : r.runs) by_grid.push_back(&rec);
  std::stable_sort(by_grid.begin(), by_grid.end(), [](const RunRecord* a, const RunRecord* b) { return a->grid_index < b->grid_index; });
  for (const auto* rec : by_grid) {
    std::string t = value_text(x_value(r, *rec));
    if (std::find(r.x_categories.begin(), r.x_categories.end(), t) == r.x_categories.end()) r.x_categories.push_back(t);
  }
  for (auto& rec : r.runs) {
    auto t = value_text(x_value(r, rec));
    rec.x = static_cast<double>(std::find(r.x_categories.begin(), r.x_categories.end(), t) - r.x_categories.begin());
  }
}

// Sets x, the grouping keys, the metric and each run's x position; refuses names the runs lack.
void choose_axes(SweepResults& r, const ReportOptions& o) {
  choose_x(r, o);
  choose_metric(r, o);
  choose_groups(r, o);
  place_runs_on_x(r);
}

// The settings and grid index a sweep wrote for the run; adds the swept keys it names to swept_keys.
void read_run_info(const fs::path& f, RunRecord& rec, std::vector<std::string>& swept_keys) {
  std::ifstream info(f / kRunInfoFile);
  if (!info) return;
  auto j = nlohmann::json::parse(info, nullptr, false);
  if (j.is_object() && j.contains("settings") && j["settings"].is_object()) rec.settings = j["settings"];
  if (j.is_object() && j.contains("index") && j["index"].is_number_integer()) rec.grid_index = j["index"].get<int64_t>();
  if (j.is_object() && j.contains("swept_keys") && j["swept_keys"].is_array())
    for (const auto& k : j["swept_keys"])
      if (k.is_string() && std::find(swept_keys.begin(), swept_keys.end(), k.get<std::string>()) == swept_keys.end())
        swept_keys.push_back(k.get<std::string>());
}

RunRecord read_run(const fs::path& f, nlohmann::json results, std::vector<std::string>& swept_keys) {
  RunRecord rec;
  rec.name = f.filename().string();
  rec.results = std::move(results);
  rec.settings = nlohmann::json::object();
  read_run_info(f, rec, swept_keys);
  for (const auto& [k, v] : rec.settings.items())
    if (std::find(swept_keys.begin(), swept_keys.end(), k) == swept_keys.end()) swept_keys.push_back(k);
  rec.instances = rec.results.value("instances", int64_t{0});
  add_min_instance_accuracy(rec.results);
  rec.curve = read_curve(f / "metrics.csv");
  return rec;
}

void read_runs(SweepResults& r) {
  std::vector<fs::path> folders;
  for (const auto& e : fs::directory_iterator(r.dir))
    if (e.is_directory()) folders.push_back(e.path());
  std::sort(folders.begin(), folders.end());
  for (const auto& f : folders) {
    auto results = finished_results(f.string());
    if (!results) {
      // Only folders a sweep made (or that look like runs) count as unfinished; other folders are not runs.
      if (fs::exists(f / kRunInfoFile) || fs::exists(f / kLockFile)) r.unfinished.push_back(f.filename().string());
      continue;
    }
    r.runs.push_back(read_run(f, std::move(*results), r.swept_keys));
  }
}

std::string group_of(const SweepResults& r, const RunRecord& rec, const ReportOptions& options) {
  std::string g;
  // Only the keys this run sets: with a table-valued axis (mux = [{plugin, norm}, {plugin}]) some
  // runs do not set every key.
  for (const auto& k : r.group_keys) {
    if (!rec.settings.contains(k)) continue;
    if (!g.empty()) g += ",";
    g += short_key(k) + "=" + value_text(rec.settings[k]);
  }
  // Plain run folders (no sweep): group by the chain itself.
  if (r.swept_keys.empty() && options.group.empty())
    g = fmt::format("{}/{}/{}", rec.results.value("mux", "?"), rec.results.value("backbone", "?"), rec.results.value("demux", "?"));
  return g.empty() ? "all runs" : g;
}

}  // namespace

bool NaturalLess::operator()(const std::string& a, const std::string& b) const {
  std::size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    const bool da = std::isdigit(static_cast<unsigned char>(a[i])) != 0, db = std::isdigit(static_cast<unsigned char>(b[j])) != 0;
    if (da && db) {
      std::size_t ie = i, je = j;
      while (ie < a.size() && std::isdigit(static_cast<unsigned char>(a[ie]))) ++ie;
      while (je < b.size() && std::isdigit(static_cast<unsigned char>(b[je]))) ++je;
      // Compare the digit runs as numbers: without leading zeros, the longer is larger.
      std::size_t is = i, js = j;
      while (is + 1 < ie && a[is] == '0') ++is;
      while (js + 1 < je && b[js] == '0') ++js;
      if (ie - is != je - js) return ie - is < je - js;
      if (int c = a.compare(is, ie - is, b, js, je - js); c != 0) return c < 0;
      i = ie, j = je;
      continue;
    }
    if (a[i] != b[j]) return a[i] < b[j];
    ++i, ++j;
  }
  if (a.size() - i != b.size() - j) return a.size() - i < b.size() - j;
  return a < b;  // equal in natural order ("01" and "1"): fall back to a strict order
}

SweepResults collect_results(const std::string& dir, const ReportOptions& options) {
  if (!fs::is_directory(dir)) throw InputError(fmt::format("{}: not a folder (give the sweep's output folder, e.g. runs/mux_vs_n)", dir));
  SweepResults r;
  r.dir = dir;
  read_runs(r);
  if (r.runs.empty())
    throw InputError(fmt::format("{}: no finished run (no sub-folder with a complete results.json){}", dir,
                                 r.unfinished.empty() ? "" : fmt::format("; {} unfinished", r.unfinished.size())));
  choose_axes(r, options);
  for (auto& rec : r.runs) rec.group = group_of(r, rec, options);
  std::stable_sort(r.runs.begin(), r.runs.end(), [](const RunRecord& a, const RunRecord& b) {
    if (a.group != b.group) return NaturalLess{}(a.group, b.group);
    if (a.x != b.x) return a.x < b.x;
    return a.results.value("seed", int64_t{0}) < b.results.value("seed", int64_t{0});
  });
  return r;
}

Table aggregate(const SweepResults& r, const std::string& field) {
  if (field == "throughput_multiplier") return throughput_multiplier(r);
  ByGroup<std::map<double, std::vector<double>>> values;
  for (const auto& rec : r.runs)
    if (rec.results.contains(field) && rec.results[field].is_number())
      values[rec.group][rec.x].push_back(rec.results[field].get<double>());
  Table out;
  for (const auto& [g, byx] : values)
    for (const auto& [x, v] : byx) out[g][x] = cell_of(v);
  return out;
}

Table throughput_multiplier(const SweepResults& r) {
  auto tp = aggregate(r, "inference_examples_per_s");
  Table out;
  for (const auto& [g, byx] : tp) {
    const Cell& ref = byx.begin()->second;  // smallest x of the group
    if (ref.mean <= 0) continue;
    for (const auto& [x, c] : byx) out[g][x] = Cell{c.mean / ref.mean, c.std / ref.mean, c.count};
  }
  return out;
}

std::string format_cell(const Cell& c, const std::string& spec) {
  std::string v = fmt::format(fmt::runtime(spec), c.mean);
  if (c.count > 1) v += " ± " + fmt::format(fmt::runtime(spec), c.std);
  return v;
}

std::map<double, double> best_per_n(const Table& t, bool higher_is_better) {
  std::map<double, std::vector<double>> means;
  for (const auto& [g, byx] : t)
    for (const auto& [x, c] : byx) means[x].push_back(c.mean);
  std::map<double, double> best;
  for (const auto& [x, v] : means) {
    auto [lo, hi] = std::minmax_element(v.begin(), v.end());
    if (*lo != *hi) best[x] = higher_is_better ? *hi : *lo;
  }
  return best;
}

bool lower_is_better(const std::string& metric) {
  return metric == "loss" || metric == "wall_seconds" || metric.rfind("peak_", 0) == 0 || metric == "steps";
}

std::string x_text(const SweepResults& r, double x) {
  if (!r.x_categories.empty()) {
    auto i = static_cast<std::size_t>(x);
    return i < r.x_categories.size() ? r.x_categories[i] : "?";
  }
  return x == std::floor(x) && std::fabs(x) < 1e15 ? fmt::format("{}", static_cast<int64_t>(x)) : fmt::format("{:g}", x);
}

std::string x_header(const SweepResults& r, double x) { return r.x_name + "=" + x_text(r, x); }

ByGroup<std::map<double, std::map<int64_t, double>>> curves(const SweepResults& r, const std::string& column) {
  ByGroup<std::map<double, std::map<int64_t, std::vector<double>>>> values;
  for (const auto& rec : r.runs) {
    bool has_validation = false;
    for (const auto& p : rec.curve) has_validation = has_validation || p.validation;
    // Loss: the training rows (every log_every steps). Accuracy: held-out rows when there are any.
    const bool want_validation = column == "accuracy" && has_validation;
    for (const auto& p : rec.curve)
      if (p.validation == want_validation)
        values[rec.group][rec.x][p.step].push_back(column == "loss" ? p.loss : p.accuracy);
  }
  ByGroup<std::map<double, std::map<int64_t, double>>> out;
  for (const auto& [g, byx] : values)
    for (const auto& [x, bystep] : byx)
      for (const auto& [step, v] : bystep) out[g][x][step] = cell_of(v).mean;
  return out;
}

int64_t per_index_n(const SweepResults& r) {
  std::map<std::pair<std::string, int64_t>, std::vector<double>> acc;  // (group, N) -> accuracies
  for (const auto& rec : r.runs)
    if (rec.results.contains("accuracy") && rec.results["accuracy"].is_number())
      acc[{rec.group, rec.instances}].push_back(rec.results["accuracy"].get<double>());
  int64_t largest = 0, informative = 0;
  for (const auto& [key, v] : acc) {
    largest = std::max(largest, key.second);
    if (cell_of(v).mean >= 0.5) informative = std::max(informative, key.second);
  }
  return informative > 0 ? informative : largest;
}

ByGroup<std::vector<double>> per_index_accuracy(const SweepResults& r, int64_t n) {
  ByGroup<std::vector<double>> sum;
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
