// datamux/sweep/grid.hpp - the runs of a sweep: axes crossed, excludes dropped, each named.
//
// Runs come in a fixed order (first axis slowest, seeds fastest), so a run's index, its name and the
// shard it falls in are the same on every machine that reads the same sweep file.
#pragma once

#include <datamux/sweep/sweep_file.hpp>

#include <string>
#include <vector>

namespace datamux::runtime::sweep {

struct Setting {
  std::string key;
  Value value;
};

struct SweepRun {
  std::size_t index = 0;          // position in the full grid (after excludes)
  std::string name;               // folder name: instances=10,mux=gaussian,seed=1
  std::vector<Setting> swept;     // the swept keys' values, axis order
  std::vector<std::string> overrides;  // `--set` arguments: the fixed [set] ones, then the swept ones
};

/// The grid: the cartesian product of the axes minus the excluded combinations. Throws InputError when
/// two runs would get the same folder name, or when every run is excluded.
std::vector<SweepRun> expand_grid(const SweepFile& sweep);

/// A key's name for people: its last part, or its section for a plugin choice ("mux.plugin" -> "mux").
std::string short_key(const std::string& key);

/// A folder name from swept values: short key names (the last part of the key; a plugin choice is named
/// by its section, "mux.plugin" -> "mux"), "key=value" joined by ",", anything but letters, digits and
/// ".+-_=," replaced by "_"; names past 200 bytes are cut and given a stable hash suffix.
std::string run_name(const std::vector<Setting>& swept);

}  // namespace datamux::runtime::sweep
