// Grid expansion and run naming.
#include <datamux/error.hpp>
#include <datamux/sweep/grid.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <map>

namespace datamux::runtime::sweep {
std::string short_key(const std::string& key) {
  std::string last = key.substr(key.rfind('.') + 1), section = key.substr(0, key.find('.'));
  return last == "plugin" ? section : last;
}

namespace {

std::string safe(const std::string& s) {
  std::string out;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '+' ||
              c == '-' || c == '_';
    out += ok ? c : '_';
  }
  // "." and ".." alone are not folder names we may create.
  if (out.empty() || out == "." || out == "..") out = "_" + out;
  return out;
}

bool excluded(const std::vector<Setting>& swept, const Exclude& e) {
  for (const auto& entry : e.match) {
    // Not a structured binding: Clang 14 (the fuzz and sanitizer builds) cannot capture one in a lambda.
    const auto& key = entry.first;
    const auto& values = entry.second;
    auto it = std::find_if(swept.begin(), swept.end(), [&](const Setting& s) { return s.key == key; });
    if (it == swept.end() || std::find(values.begin(), values.end(), it->value) == values.end()) return false;
  }
  return true;
}

}  // namespace

std::string run_name(const std::vector<Setting>& swept) {
  if (swept.empty()) return "run";
  // Short names unless two swept keys share one (mux.norm and backbone.norm): then full keys.
  std::map<std::string, int> uses;
  for (const auto& s : swept) ++uses[short_key(s.key)];
  std::string name;
  for (const auto& s : swept) {
    if (!name.empty()) name += ',';
    std::string k = short_key(s.key);
    name += safe(uses[k] > 1 ? s.key : k) + "=" + safe(s.value.text);
  }
  if (name.size() > 200) {
    std::uint64_t h = 1469598103934665603ull;  // FNV-1a: stable across builds and machines
    for (unsigned char c : name) h = (h ^ c) * 1099511628211ull;
    name = fmt::format("{}-{:016x}", name.substr(0, 183), h);
  }
  return name;
}

std::vector<SweepRun> expand_grid(const SweepFile& sweep) {
  std::vector<std::string> fixed;
  for (const auto& [key, v] : sweep.set) fixed.push_back(key + "=" + v.toml);

  std::vector<SweepRun> runs;
  std::vector<std::size_t> at(sweep.axes.size(), 0);  // odometer over the axes, last axis fastest
  while (true) {
    std::vector<Setting> swept;
    for (std::size_t a = 0; a < sweep.axes.size(); ++a)
      for (const auto& [key, value] : sweep.axes[a].points[at[a]]) swept.push_back({key, value});
    if (std::none_of(sweep.excludes.begin(), sweep.excludes.end(), [&](const Exclude& e) { return excluded(swept, e); })) {
      SweepRun r;
      r.index = runs.size();
      r.name = run_name(swept);
      r.overrides = fixed;
      for (const auto& s : swept) r.overrides.push_back(s.key + "=" + s.value.toml);
      r.swept = std::move(swept);
      runs.push_back(std::move(r));
    }
    std::size_t a = sweep.axes.size();
    while (a > 0 && ++at[a - 1] == sweep.axes[a - 1].points.size()) at[--a] = 0;
    if (a == 0) break;
  }
  if (runs.empty()) throw InputError(fmt::format("{}: every run of the grid is excluded", sweep.path));
  std::map<std::string, const SweepRun*> names;
  for (const auto& r : runs) {
    auto [it, fresh] = names.emplace(r.name, &r);
    if (!fresh) {
      auto describe = [](const SweepRun& x) {
        std::string d;
        for (const auto& s : x.swept) d += fmt::format(" {}={}", s.key, s.value.toml);
        return d;
      };
      throw InputError(fmt::format("{}: runs{} and{} would share the folder name '{}' (values differ only in characters "
                                   "a folder name cannot hold); change one of the values",
                                   sweep.path, describe(*it->second), describe(r), r.name));
    }
  }
  return runs;
}

}  // namespace datamux::runtime::sweep
