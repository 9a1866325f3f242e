// The `datamux` pipeline commands as a user runs them: exit codes and messages on bad input.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "run_test_util.hpp"

using ::testing::HasSubstr;
using datamux::testing::pipeline_fixture;
using datamux::testing::run_cli;
using Result = datamux::testing::CliResult;

TEST(CliRun, ValidateAcceptsAGoodPipeline) {
  Result r = run_cli("validate " + pipeline_fixture("retrieval_small.toml"));
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("gaussian mux -> transformer backbone -> index demux"));
}

TEST(CliRun, MalformedTomlExitsTwoWithItsLocation) {
  Result r = run_cli("run --quiet " + pipeline_fixture("malformed.toml"));
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.output, HasSubstr("malformed.toml:5:"));
}

TEST(CliRun, BadOverrideAndUnknownPluginExitTwo) {
  Result a = run_cli("validate " + pipeline_fixture("retrieval_small.toml") + " --set model.instancs=3");
  EXPECT_EQ(a.code, 2);
  EXPECT_THAT(a.output, HasSubstr("did you mean 'instances'"));
  Result b = run_cli("validate " + pipeline_fixture("retrieval_small.toml") + " --set demux.plugin=indx");
  EXPECT_EQ(b.code, 2);
  EXPECT_THAT(b.output, HasSubstr("index"));
}

TEST(CliRun, DivergingRunExitsTwoNamingTheStep) {
  auto dir = datamux::testing::scratch_dir("cli-nan");
  Result r = run_cli("run --quiet " + pipeline_fixture("retrieval_small.toml") +
                     " --set train.lr=1e30 --set train.clip_norm=0.0 --set train.warmup_steps=0 --out " + dir.string());
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("training stopped at step"));
  std::filesystem::remove_all(dir);
}

TEST(CliRun, MissingFileIsAUsageError) {
  Result r = run_cli("run /nonexistent/pipeline.toml");
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.output, HasSubstr("/nonexistent/pipeline.toml"));
}
