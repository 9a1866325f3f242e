// `datamux bench` as a user runs it: --smoke --json writes every row of every group, with the host
// named; bad input exits 2 with a message. (The figures themselves are checked by nobody here: speed
// targets live in the benchmark, docs/performance.md.)
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "run_test_util.hpp"

using ::testing::HasSubstr;

namespace {

using datamux::testing::run_cli;

std::string default_pipeline() { return std::string(DATAMUX_SOURCE_DIR) + "/examples/pipelines/retrieval.toml"; }

}  // namespace

TEST(CliBench, SmokeJsonHasEveryRow) {
  const auto dir = datamux::testing::scratch_dir("bench");
  const std::string json_path = (dir / "bench.json").string();
  datamux::testing::CliResult r = run_cli("bench --smoke --threads 2 --pipeline " + default_pipeline() + " --json " + json_path);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("CPU"));
  std::ifstream f(json_path);
  ASSERT_TRUE(f) << "no JSON written";
  const nlohmann::json j = nlohmann::json::parse(f);
  EXPECT_FALSE(j["host"]["cpu_model"].get<std::string>().empty());
  EXPECT_FALSE(j["host"]["onednn_isa"].get<std::string>().empty());
  std::set<std::string> names;
  for (const auto& row : j["rows"]) {
    names.insert(row["group"].get<std::string>() + "/" + row["name"].get<std::string>());
    EXPECT_GT(row["ms"].get<double>(), 0.0) << row.dump();
    EXPECT_GT(row["peak_tensor_mb"].get<double>(), 0.0) << row.dump();
  }
  for (const char* expected :
       {"linear/fwd 64x32x48", "linear/fwd+bwd 64x32x48", "encoder/inference fwd (B2 L8 d32 h2 ffn64)",
        "encoder/training fwd (B2 L8 d32 h2 ffn64)", "encoder/training fwd+bwd (B2 L8 d32 h2 ffn64)",
        "mux/cls plain N=1", "mux/cls N=1", "mux/cls N=2", "mux/token plain N=1", "mux/token N=1", "mux/token N=2",
        "train/step retrieval.toml (N=2, batch 2)"})
    EXPECT_TRUE(names.count(expected)) << "missing row " << expected;
  // Inference rows record no autograd nodes; training rows do.
  for (const auto& row : j["rows"]) {
    const std::string name = row["name"].get<std::string>();
    if (row["group"] == "mux" || name.rfind("inference", 0) == 0 || name.rfind("fwd ", 0) == 0) {
      EXPECT_EQ(row["tape_nodes_per_iter"].get<double>(), 0.0) << name;
    }
    if (row["group"] == "train") { EXPECT_GT(row["tape_nodes_per_iter"].get<double>(), 0.0) << name; }
  }
}

TEST(CliBench, BadInputExitsWithUsageError) {
  datamux::testing::CliResult r = run_cli("bench --smoke --group nonsense");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("unknown group 'nonsense'"));
  r = run_cli("bench --smoke --group train --pipeline /nonexistent/pipeline.toml");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("/nonexistent/pipeline.toml"));
  r = run_cli("bench --quick --smoke");
  EXPECT_EQ(r.code, 2) << r.output;
  r = run_cli("bench --precision f16");
  EXPECT_EQ(r.code, 2) << r.output;
}
