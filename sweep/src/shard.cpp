// Shards: parsing --shard, reading a Slurm array job's variables, selecting the slice.
#include <datamux/error.hpp>
#include <datamux/sweep/shard.hpp>

#include <fmt/format.h>

#include <charconv>
#include <cstdlib>

namespace datamux::runtime::sweep {
namespace {

std::optional<long> to_long(const std::string& s) {
  long v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

}  // namespace

Shard parse_shard(const std::string& text) {
  auto slash = text.find('/');
  auto bad = [&] {
    return InputError(fmt::format("--shard {}: expected i/k with 0 <= i < k, e.g. --shard 0/4 for the first of 4 slices", text));
  };
  if (slash == std::string::npos) throw bad();
  auto i = to_long(text.substr(0, slash)), k = to_long(text.substr(slash + 1));
  if (!i || !k || *k < 1 || *i < 0 || *i >= *k || *k > 1000000) throw bad();
  return {static_cast<int>(*i), static_cast<int>(*k)};
}

std::optional<Shard> shard_from_environment(const std::map<std::string, std::string>& env) {
  auto get = [&](const char* k) -> std::optional<std::string> {
    auto it = env.find(k);
    if (it == env.end() || it->second.empty()) return std::nullopt;
    return it->second;
  };
  auto id_text = get("SLURM_ARRAY_TASK_ID");
  if (!id_text) return std::nullopt;
  auto number = [&](const char* k, const std::string& v) {
    auto n = to_long(v);
    if (!n) throw InputError(fmt::format("{}={}: not an integer", k, v));
    return *n;
  };
  long id = number("SLURM_ARRAY_TASK_ID", *id_text);
  auto min_text = get("SLURM_ARRAY_TASK_MIN"), max_text = get("SLURM_ARRAY_TASK_MAX"), count_text = get("SLURM_ARRAY_TASK_COUNT");
  long min = min_text ? number("SLURM_ARRAY_TASK_MIN", *min_text) : 0;
  long count = 0;
  if (max_text) count = number("SLURM_ARRAY_TASK_MAX", *max_text) - min + 1;
  // COUNT is the number of tasks; with a contiguous array it equals MAX-MIN+1. A stepped array
  // (--array=0-10:2) would leave holes, so insist the two agree when both are given.
  if (count_text) {
    long c = number("SLURM_ARRAY_TASK_COUNT", *count_text);
    if (max_text && c != count)
      throw InputError(fmt::format("SLURM_ARRAY_TASK_COUNT={} but ids run {}..{}: submit a contiguous array (--array=0-{}), "
                                   "or pass --shard",
                                   c, min, min + count - 1, c - 1));
    count = c;
  }
  if (count < 1)
    throw InputError("SLURM_ARRAY_TASK_ID is set but neither SLURM_ARRAY_TASK_COUNT nor SLURM_ARRAY_TASK_MAX: pass --shard i/k");
  if (id < min || id - min >= count)
    throw InputError(fmt::format("SLURM_ARRAY_TASK_ID={} is outside the array {}..{}", id, min, min + count - 1));
  return Shard{static_cast<int>(id - min), static_cast<int>(count)};
}

std::optional<Shard> shard_from_environment() {
  std::map<std::string, std::string> env;
  for (const char* k : {"SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_MIN", "SLURM_ARRAY_TASK_MAX", "SLURM_ARRAY_TASK_COUNT"})
    if (const char* v = std::getenv(k)) env[k] = v;
  return shard_from_environment(env);
}

std::vector<SweepRun> select_shard(const std::vector<SweepRun>& runs, Shard shard) {
  std::vector<SweepRun> out;
  for (const auto& r : runs)
    if (static_cast<int>(r.index % shard.count) == shard.index) out.push_back(r);
  return out;
}

}  // namespace datamux::runtime::sweep
