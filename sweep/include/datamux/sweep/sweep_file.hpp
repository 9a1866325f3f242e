// datamux/sweep/sweep_file.hpp - a sweep TOML file: a base pipeline and the grid over its keys.
//
//   base = "pipeline.toml"                 # relative to the sweep file
//   seeds = [1, 2, 3]                      # sets model.seed
//   [axes]
//   "model.instances" = [1, 2, 5, 10]      # any pipeline key, one run per value
//   [[zip]]                                # keys that change together: one run per position
//   "mux.plugin" = ["gaussian", "hadamard"]
//   "mux.norm" = [20.0, 1.0]
//   [[exclude]]                            # drop the runs matching every key given (a list = any of)
//   "model.instances" = 1
//   "mux.plugin" = "hadamard"
//   [set]                                  # fixed overrides for every run
//   "train.steps" = 200
//
// An [axes] entry may also sweep a whole plugin section, one table per value, for plugins whose
// options differ: mux = [{plugin = "gaussian", norm = 20.0}, {plugin = "random_ortho"}].
// Keys may be quoted ("model.instances") or dotted (model.instances). Every value keeps the place it
// came from, so a bad value is reported as file:line:column.
#pragma once

#include <string>
#include <vector>

namespace datamux::runtime::sweep {

/// One value of a pipeline key: its TOML text (as passed to `--set key=<toml>`) and where it was written.
struct Value {
  std::string toml;   // e.g. 10, 20.0, "gaussian", true
  std::string text;   // the value for people: 10, 20.0, gaussian, true
  std::string where;  // sweep.toml:7:22
  bool operator==(const Value& o) const { return toml == o.toml; }
};

/// A dimension of the grid: one or more keys that change together, and the points along it.
/// An [axes] entry is an Axis with one key (or, for a table-valued entry, the keys each table sets);
/// a [[zip]] group an Axis with several; seeds one more.
struct Axis {
  std::vector<std::string> keys;  // every key some point sets
  std::vector<std::vector<std::pair<std::string, Value>>> points;  // the (key, value) pairs of each point
  std::string where;
};

/// A run is dropped when, for every key of an Exclude, its value is one of the listed values.
struct Exclude {
  std::vector<std::pair<std::string, std::vector<Value>>> match;
  std::string where;
};

struct SweepFile {
  std::string path;
  std::string base;        // the base pipeline, resolved against the sweep file's folder
  std::string base_where;  // where `base` is written
  std::vector<Axis> axes;  // in file order; the seeds axis last
  std::vector<Exclude> excludes;
  std::vector<std::pair<std::string, Value>> set;  // fixed overrides, in file order
};

/// The pipeline key `seeds = [...]` sets.
inline constexpr const char* kSeedKey = "model.seed";

/// Reads and checks a sweep file. Throws InputError naming file:line:column: malformed TOML, unknown
/// top-level key, missing base, an empty axis, a non-scalar value, zip arrays of different lengths,
/// a key swept twice or both swept and set, an exclude over a key that is not swept.
SweepFile load_sweep_file(const std::string& path);

}  // namespace datamux::runtime::sweep
