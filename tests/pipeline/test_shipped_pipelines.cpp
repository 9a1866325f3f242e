// Every pipeline and sweep shipped in examples/ passes the checks a run starts with, so a new user who
// runs one never meets a schema error: pipelines (examples/pipelines/, and the base pipelines of
// examples/ablations/) pass `datamux validate` (TOML keys, plugin options, data sets found); sweeps
// (examples/ablations/ files with `base =`) pass `datamux sweep --dry-run`, which checks every run's
// settings. The muxplm/ stages are chained and checked by test_task_mlm.cpp. A pipeline that starts from
// an earlier run's checkpoint (`[train] init_from`) is checked with init_from cleared: the checkpoint is
// that earlier run's output.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "run_test_util.hpp"

namespace fs = std::filesystem;
using datamux::testing::run_cli;

namespace {

std::vector<fs::path> tomls_in(const std::string& folder) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(fs::path(DATAMUX_SOURCE_DIR) / "examples" / folder))
    if (e.path().extension() == ".toml") out.push_back(e.path());
  return out;
}

bool is_sweep(const fs::path& p) {
  std::ifstream f(p);
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("base =", 0) == 0 || line.rfind("base=", 0) == 0) return true;
  return false;
}

}  // namespace

TEST(ShippedPipelines, EveryExamplePipelineValidates) {
  const std::vector<fs::path> pipelines = tomls_in("pipelines");
  ASSERT_GE(pipelines.size(), 10u) << "examples/pipelines/ lost its pipelines";
  for (const fs::path& p : pipelines) {
    const auto r = run_cli("validate " + p.string() + " --set 'train.init_from=\"\"'");
    EXPECT_EQ(r.code, 0) << p.filename() << ":\n" << r.output;
  }
}

TEST(ShippedPipelines, EveryAblationSweepAndItsBasePipelineCheck) {
  const fs::path out = datamux::testing::scratch_dir("shipped-sweeps");
  int sweeps = 0;
  for (const fs::path& p : tomls_in("ablations")) {
    const bool sweep = is_sweep(p);
    sweeps += sweep;
    const auto r = sweep ? run_cli("sweep --dry-run " + p.string() + " --out " + (out / p.stem()).string())
                         : run_cli("validate " + p.string());
    EXPECT_EQ(r.code, 0) << p.filename() << ":\n" << r.output;
  }
  EXPECT_GE(sweeps, 7) << "examples/ablations/ lost its sweeps";
}
