// datamux/sweep/shard.hpp - one slice of a sweep, for array jobs (Slurm, MPI ranks, plain loops).
//
// Shard i of k (0-based) takes the runs whose grid index is i modulo k: the k shards are disjoint, cover
// the grid exactly once, and differ in size by at most one run (the expensive large-N runs, which sit
// together in the grid, are spread over the shards instead of landing in one).
#pragma once

#include <datamux/sweep/grid.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace datamux::runtime::sweep {

struct Shard {
  int index = 0;  // 0-based
  int count = 1;
};

/// "i/k" with 0 <= i < k. Throws InputError naming `--shard` otherwise.
Shard parse_shard(const std::string& text);

/// From a Slurm array job's environment: SLURM_ARRAY_TASK_ID with SLURM_ARRAY_TASK_COUNT, or with
/// SLURM_ARRAY_TASK_MIN/MAX (ids min..max, contiguous). nullopt outside an array job. Throws InputError
/// when the variables are present but make no shard (e.g. an id outside min..max).
std::optional<Shard> shard_from_environment(const std::map<std::string, std::string>& env);
/// The same, from this process's environment.
std::optional<Shard> shard_from_environment();

std::vector<SweepRun> select_shard(const std::vector<SweepRun>& runs, Shard shard);

}  // namespace datamux::runtime::sweep
