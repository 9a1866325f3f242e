// End-to-end: a small retrieval pipeline trained from TOML through the registry's plugins.
#include <datamux/core/cpu_features.hpp>
#include <datamux/core/precision.hpp>
#include <datamux/train/trainer.hpp>
#include <gmock/gmock.h>

#include "run_test_util.hpp"
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

using namespace datamux;
using namespace datamux::runtime;
using ::testing::HasSubstr;
using datamux::testing::quiet_run;
using datamux::testing::scratch_dir;
using datamux::testing::pipeline_fixture;
namespace fs = std::filesystem;

TEST(RunRetrieval, TwoInstancesLearnToRetrieveTheirTokens) {
  PipelineConfig c = load_pipeline(pipeline_fixture("retrieval_small.toml"));
  fs::path out = scratch_dir("retrieval");
  RunSummary s = run_pipeline(c, quiet_run(out));
  EXPECT_GT(s.final_eval.accuracy.value(), 0.9) << "N=2 gaussian+index retrieval should exceed 90% token accuracy";
  ASSERT_EQ(s.final_eval.accuracy.instance_total.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) EXPECT_GT(s.final_eval.accuracy.instance_value(i), 0.8) << "instance " << i;
  EXPECT_GT(s.infer_examples_per_s, 0.0);

  ASSERT_TRUE(fs::exists(out / "results.json"));
  ASSERT_TRUE(fs::exists(out / "model.safetensors"));
  ASSERT_TRUE(fs::exists(out / "pipeline.toml"));
  nlohmann::json j = nlohmann::json::parse(std::ifstream(out / "results.json"));
  EXPECT_NEAR(j["accuracy"].get<double>(), s.final_eval.accuracy.value(), 1e-12);
  EXPECT_EQ(j["per_instance_accuracy"].size(), 2u);
  EXPECT_EQ(j["mux"], "gaussian");

  // The checkpoint evaluates to the same accuracy through `eval`.
  RunOptions e = quiet_run(out / "eval");
  e.checkpoint = (out / "model.safetensors").string();
  RunSummary again = eval_pipeline(c, e);
  EXPECT_EQ(again.final_eval.accuracy.correct, s.final_eval.accuracy.correct);
  fs::remove_all(out);
}

TEST(RunRetrieval, SameSeedSameNumbers) {
  PipelineConfig c = load_pipeline(pipeline_fixture("retrieval_small.toml"), {"train.steps=20"});
  fs::path a = scratch_dir("seed-a"), b = scratch_dir("seed-b");
  RunSummary ra = run_pipeline(c, quiet_run(a));
  RunSummary rb = run_pipeline(c, quiet_run(b));
  EXPECT_EQ(ra.final_eval.accuracy.correct, rb.final_eval.accuracy.correct);
  EXPECT_DOUBLE_EQ(ra.final_eval.loss, rb.final_eval.loss);
  fs::remove_all(a);
  fs::remove_all(b);
}

TEST(RunRetrieval, DivergingLossStopsWithTheStep) {
  PipelineConfig c = load_pipeline(pipeline_fixture("retrieval_small.toml"),
                                   {"train.steps=50", "train.lr=1e30", "train.clip_norm=0.0", "train.warmup_steps=0"});
  fs::path out = scratch_dir("nan");
  try {
    run_pipeline(c, quiet_run(out));
    FAIL() << "expected TrainingError";
  } catch (const TrainingError& e) {
    EXPECT_THAT(e.what(), HasSubstr("training stopped at step"));
  }
  EXPECT_FALSE(fs::exists(out / "results.json"));
  fs::remove_all(out);
}

TEST(RunRetrieval, UnknownPluginSuggestsTheClosest) {
  PipelineConfig c = load_pipeline(pipeline_fixture("retrieval_small.toml"), {"mux.plugin=gausian"});
  fs::path out = scratch_dir("unknown");
  try {
    run_pipeline(c, quiet_run(out));
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr("gaussian"));
  }
  fs::remove_all(out);
}

// metrics.csv: the training curve, one train row per log_every steps and one validation row per eval_every,
// with per-instance accuracy columns that agree with the overall accuracy.
TEST(RunRetrieval, MetricsCsvHoldsTheTrainingCurvePerInstance) {
  PipelineConfig c = load_pipeline(pipeline_fixture("retrieval_small.toml"),
                                   {"train.steps=30", "train.log_every=10", "train.eval_every=15", "model.instances=2"});
  fs::path out = scratch_dir("metrics-csv");
  RunSummary s = run_pipeline(c, quiet_run(out));
  std::ifstream f(out / "metrics.csv");
  ASSERT_TRUE(f) << "metrics.csv missing";
  std::string header;
  std::getline(f, header);
  EXPECT_EQ(header, "step,split,loss,accuracy,lr,examples_per_s,elapsed_s,min_instance_accuracy,instance_0,instance_1");
  std::vector<std::string> keys;
  std::string line, last_validation;
  double last_elapsed = 0.0;
  while (std::getline(f, line)) {
    std::vector<std::string> cells;
    std::stringstream ss(line);
    for (std::string cell; std::getline(ss, cell, ',');) cells.push_back(cell);
    if (line.back() == ',') cells.emplace_back();
    ASSERT_EQ(cells.size(), 10u) << line;
    keys.push_back(cells[0] + ":" + cells[1]);
    const double acc = std::stod(cells[3]), lowest = std::stod(cells[7]);
    const double i0 = std::stod(cells[8]), i1 = std::stod(cells[9]);
    // elapsed_s: wall time since training began, never decreasing from row to row.
    const double elapsed = std::stod(cells[6]);
    EXPECT_GE(elapsed, last_elapsed) << line;
    last_elapsed = elapsed;
    EXPECT_NEAR(lowest, std::min(i0, i1), 1e-6) << line;
    EXPECT_LE(lowest, acc + 1e-6) << line;
    if (cells[1] == "train") { EXPECT_GT(std::stod(cells[4]), 0.0) << "lr column: " << line; }
    if (cells[1] == "validation") last_validation = line;
  }
  EXPECT_EQ(keys, (std::vector<std::string>{"10:train", "15:validation", "20:train", "30:train", "30:validation"}));
  EXPECT_FALSE(last_validation.empty());
  EXPECT_GT(last_elapsed, 0.0) << "30 training steps take measurable time";
  fs::remove_all(out);
}

// [model] dtype = "bf16": trains to the f32 run's accuracy, reports what ran (bf16 only where the CPU has
// fast bf16), and a later f32 pipeline in the same process runs f32 again.
TEST(RunRetrieval, Bf16DtypeTrainsLikeF32AndDoesNotLeak) {
  PipelineConfig f32 = load_pipeline(pipeline_fixture("retrieval_small.toml"));
  PipelineConfig bf16 = load_pipeline(pipeline_fixture("retrieval_small.toml"), {"model.dtype=\"bf16\""});
  fs::path a = scratch_dir("dtype-bf16"), b = scratch_dir("dtype-f32");
  RunSummary rb = run_pipeline(bf16, quiet_run(a));
  nlohmann::json jb = nlohmann::json::parse(std::ifstream(a / "results.json"));
  EXPECT_EQ(jb["dtype"], bf16_matmul_is_fast() ? "bf16" : "f32");
  RunSummary rf = run_pipeline(f32, quiet_run(b));
  nlohmann::json jf = nlohmann::json::parse(std::ifstream(b / "results.json"));
  EXPECT_EQ(jf["dtype"], "f32");
  EXPECT_EQ(matmul_precision(), MatmulPrecision::f32);
  EXPECT_GT(rb.final_eval.accuracy.value(), 0.9);
  EXPECT_NEAR(rb.final_eval.accuracy.value(), rf.final_eval.accuracy.value(), 0.02);
  fs::remove_all(a);
  fs::remove_all(b);
}
