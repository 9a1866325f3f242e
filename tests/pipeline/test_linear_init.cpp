// [model] linear_init_stddev: the reference code's initialisation (every weight matrix after the
// embedding from N(0, s), every bias 0) replaces the plugins' own, except the mux's codes and the
// embedding tables; -1 (the default) leaves the plugins' initialisation alone.
#include <datamux/train/model.hpp>
#include <datamux/pipeline/pipeline_config.hpp>
#include <datamux/tasks/task.hpp>
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>

#include "run_test_util.hpp"

namespace datamux::runtime {
namespace {

class RetrievalShapes : public Task {
 public:
  std::string kind() const override { return "retrieval"; }
  void describe(BuildContext& ctx) const override {
    ctx.input = InputKind::Sequence;
    ctx.seq_len = 8;
    ctx.vocab = 300;
  }
  bool has_labels() const override { return false; }
  bool token_level() const override { return true; }
  Batch next_train_batch(int64_t, int64_t) override { return {}; }
  std::vector<Batch> eval_batches(Split, int64_t, int64_t) const override { return {}; }
  std::string summary() const override { return "test"; }
};

std::map<std::string, std::vector<float>> built_state(const std::string& linear_init) {
  const auto dir = datamux::testing::scratch_dir("linear-init");
  const auto path = dir / "pipeline.toml";
  std::ofstream(path) << "[task]\nkind = \"retrieval\"\nvocab = 300\nlength = 8\n"
                      << "[model]\ninstances = 4\nhidden = 64\nseed = 3\nlinear_init_stddev = " << linear_init << "\n"
                      << "[mux]\nplugin = \"gaussian\"\nnorm = 20.0\n"
                      << "[backbone]\nplugin = \"transformer\"\nlayers = 1\nheads = 2\nffn = 128\n"
                      << "[demux]\nplugin = \"mlp\"\n[head]\nall_instances = true\n"
                      << "[train]\ntask_loss_coeff = 0.0\nretrieval_loss_coeff = 1.0\n";
  RetrievalShapes task;
  Registry registry = Registry::with_default_paths();
  MuxModel model(load_pipeline(path.string()), task, registry);
  std::map<std::string, std::vector<float>> out;
  for (const auto& [name, t] : model.state()) out[name] = t.to_vector();
  return out;
}

double stddev(const std::vector<float>& v) {
  double sum = 0.0, sq = 0.0;
  for (float x : v) sum += x;
  const double mean = sum / static_cast<double>(v.size());
  for (float x : v) sq += (x - mean) * (x - mean);
  return std::sqrt(sq / static_cast<double>(v.size()));
}

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

TEST(LinearInit, NormalReplacesPluginInitAfterTheEmbeddingAndKeepsTheMux) {
  const auto plugin = built_state("-1.0");
  const auto normal = built_state("0.02");
  ASSERT_EQ(plugin.size(), normal.size());
  int matrices = 0, biases = 0;
  for (const auto& [name, w] : normal) {
    const auto& before = plugin.at(name);
    if (name.rfind("mux.", 0) == 0 || name.rfind("embed.", 0) == 0) {
      EXPECT_EQ(w, before) << name << " must keep its own initialisation";
      continue;
    }
    if (ends_with(name, ".bias")) {
      for (float x : w) ASSERT_EQ(x, 0.f) << name;
      ++biases;
    } else if (name.find("norm") != std::string::npos) {
      EXPECT_EQ(w, before) << name << ": a layer-norm gain stays as built";
    } else if (w.size() >= 4096) {  // the matrices: large enough for a sample stddev to within 10%
      EXPECT_NEAR(stddev(w), 0.02, 0.002) << name;
      EXPECT_GT(stddev(before), 0.03) << name << ": the plugin's default init (uniform +-1/sqrt(fan_in)) is wider";
      ++matrices;
    }
  }
  EXPECT_GE(matrices, 8) << "attention (4), ffn (2), per-instance demux and head matrices";
  EXPECT_GE(biases, 6);
  EXPECT_EQ(normal.at("demux.norm.weight"), plugin.at("demux.norm.weight")) << "per-instance layer-norm gains";
}

TEST(LinearInit, ValuesBelowMinusOneAreRefused) {
  EXPECT_THROW(built_state("-2.0"), InputError);
}

}  // namespace
}  // namespace datamux::runtime
