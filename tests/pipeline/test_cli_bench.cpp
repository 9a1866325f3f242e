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

// The profile group: one inference pass of a pipeline part by part at each N; the parts' shares add up
// to the whole pass, whose multiplier over the first N is its examples/s over the first's.
TEST(CliBench, ProfileSplitsThePassIntoPartsThatAddUp) {
  const auto dir = datamux::testing::scratch_dir("bench-profile");
  const std::string json_path = (dir / "profile.json").string();
  const std::string pipeline = std::string(DATAMUX_TEST_DATA_DIR) + "/pipelines/retrieval_small.toml";
  datamux::testing::CliResult r = run_cli("bench --smoke --group profile --instances 1,4 --threads 1 --pipeline " +
                                          pipeline + " --json " + json_path);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("N=4 backbone"));
  std::ifstream f(json_path);
  const nlohmann::json j = nlohmann::json::parse(f);
  for (int64_t n : {1, 4}) {
    double share = 0, parts_ms = 0, whole_ms = 0, rate = 0;
    int parts = 0;
    for (const auto& row : j["rows"]) {
      if (row["group"] != "profile" || row["instances"] != n) continue;
      const std::string name = row["name"].get<std::string>();
      if (name.find("whole pass") != std::string::npos) {
        whole_ms = row["ms"].get<double>();
        rate = row["items_per_s"].get<double>();
      } else {
        share += row["ratio"].get<double>();
        parts_ms += row["ms"].get<double>();
        ++parts;
        EXPECT_GE(row["ms"].get<double>(), 0.0) << name;
      }
    }
    EXPECT_EQ(parts, 6) << "N=" << n << ": data, embed+prepare, mux, backbone, demux, head";
    EXPECT_NEAR(share, 1.0, 1e-6) << "N=" << n;
    EXPECT_NEAR(parts_ms, whole_ms, 1e-6 * whole_ms + 1e-9) << "N=" << n;
    EXPECT_GT(whole_ms, 0.0) << "N=" << n;
    EXPECT_GT(rate, 0.0) << "N=" << n;
  }
}

TEST(CliBench, ProfileOfAMissingPipelineIsBadInput) {
  const auto r = run_cli("bench --smoke --group profile --pipeline /nonexistent/p.toml");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("/nonexistent/p.toml"));
}
