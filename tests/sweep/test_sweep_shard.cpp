// Shards: --shard parsing, Slurm array variables, and k slices covering the grid exactly once.
#include <datamux/error.hpp>
#include <datamux/sweep/shard.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

#include "sweep_test_util.hpp"

using ::testing::HasSubstr;
using namespace datamux::runtime::sweep;

TEST(SweepShard, SlicesAreDisjointAndCoverTheGridOnce) {
  auto runs = expand_grid(load_sweep_file(datamux::testing::sweep_fixture("grid.toml")));
  for (int k : {1, 2, 3, 7, 10}) {
    std::map<std::string, int> seen;
    std::size_t largest = 0, smallest = runs.size();
    for (int i = 0; i < k; ++i) {
      auto slice = select_shard(runs, {i, k});
      largest = std::max(largest, slice.size()), smallest = std::min(smallest, slice.size());
      for (const auto& r : slice) ++seen[r.name];
    }
    EXPECT_EQ(seen.size(), runs.size()) << "k=" << k;
    for (const auto& [name, n] : seen) EXPECT_EQ(n, 1) << name << " k=" << k;
    EXPECT_LE(largest - smallest, 1u) << "k=" << k;
  }
}

TEST(SweepShard, ParsesIOverK) {
  Shard s = parse_shard("2/5");
  EXPECT_EQ(s.index, 2);
  EXPECT_EQ(s.count, 5);
  for (const char* bad : {"5/5", "-1/3", "1/0", "1", "a/b", "1/2/3", "", "1/ 2"})
    EXPECT_THROW(parse_shard(bad), datamux::InputError) << bad;
}

TEST(SweepShard, FromSlurmArrayVariables) {
  EXPECT_FALSE(shard_from_environment(std::map<std::string, std::string>{}).has_value());
  auto s = shard_from_environment({{"SLURM_ARRAY_TASK_ID", "3"}, {"SLURM_ARRAY_TASK_COUNT", "4"}});
  ASSERT_TRUE(s);
  EXPECT_EQ(s->index, 3);
  EXPECT_EQ(s->count, 4);
  // --array=1-4: ids start at MIN.
  s = shard_from_environment({{"SLURM_ARRAY_TASK_ID", "1"}, {"SLURM_ARRAY_TASK_MIN", "1"}, {"SLURM_ARRAY_TASK_MAX", "4"}});
  ASSERT_TRUE(s);
  EXPECT_EQ(s->index, 0);
  EXPECT_EQ(s->count, 4);
  s = shard_from_environment({{"SLURM_ARRAY_TASK_ID", "4"}, {"SLURM_ARRAY_TASK_MIN", "1"}, {"SLURM_ARRAY_TASK_MAX", "4"},
                              {"SLURM_ARRAY_TASK_COUNT", "4"}});
  ASSERT_TRUE(s);
  EXPECT_EQ(s->index, 3);
  try {
    shard_from_environment({{"SLURM_ARRAY_TASK_ID", "0"}, {"SLURM_ARRAY_TASK_MIN", "0"}, {"SLURM_ARRAY_TASK_MAX", "10"},
                            {"SLURM_ARRAY_TASK_COUNT", "6"}});
    FAIL() << "a stepped array must be refused";
  } catch (const datamux::InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr("contiguous"));
  }
  EXPECT_THROW(shard_from_environment({{"SLURM_ARRAY_TASK_ID", "7"}, {"SLURM_ARRAY_TASK_COUNT", "4"}}), datamux::InputError);
  EXPECT_THROW(shard_from_environment({{"SLURM_ARRAY_TASK_ID", "1"}}), datamux::InputError);
}
