// `datamux plugins try`: builds one plugin through the registry with a small model context, runs a
// forward pass on random data and a backward pass, and checks the output against the kind's contract.
// The quickest way to see that a new plugin loads, validates its options and computes.
#pragma once

#include <datamux/registry.hpp>
#include <string>
#include <vector>

namespace datamux::cli {

struct TrySettings {
  std::vector<std::string> sets;   // key=value options, each value read as TOML (see located_options.hpp)
  std::string input = "sequence";  // sequence, vector, image
  std::string level = "token";     // heads on sequence input: token or sentence targets
  int64_t instances = 2, batch = 2, seq_len = 4, hidden = 8;
  int64_t vocab = 16, classes = 3, channels = 1, height = 8, width = 8;
  uint64_t seed = 0;
};

struct TryReport {
  std::string text;
  bool ok = true;  // false: the plugin broke its contract (wrong shape, non-finite values)
};

TryReport try_plugin(Registry& registry, PluginKind kind, const std::string& name, const TrySettings& settings);

}  // namespace datamux::cli
