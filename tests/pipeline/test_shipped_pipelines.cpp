// Every pipeline shipped in examples/pipelines/ passes `datamux validate` (TOML keys, plugin options,
// data sets found): a new user who runs one never meets a schema error. The muxplm/ stages are chained
// and checked by test_task_mlm.cpp. A pipeline that starts from an earlier run's checkpoint
// (`[train] init_from`) is checked with init_from cleared: the checkpoint is that earlier run's output.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "run_test_util.hpp"

namespace fs = std::filesystem;

TEST(ShippedPipelines, EveryExamplePipelineValidates) {
  std::vector<fs::path> pipelines;
  for (const auto& e : fs::directory_iterator(fs::path(DATAMUX_SOURCE_DIR) / "examples" / "pipelines"))
    if (e.path().extension() == ".toml") pipelines.push_back(e.path());
  ASSERT_GE(pipelines.size(), 10u) << "examples/pipelines/ lost its pipelines";
  for (const fs::path& p : pipelines) {
    const auto r = datamux::testing::run_cli("validate " + p.string() + " --set 'train.init_from=\"\"'");
    EXPECT_EQ(r.code, 0) << p.filename() << ":\n" << r.output;
  }
}
