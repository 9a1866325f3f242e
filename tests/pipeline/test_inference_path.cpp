// The inference path of whole models: for built-in plugin chains, the outputs of evaluation mode under
// NoGradGuard (fused post-ops, the [CLS] shortcut of model.cpp, no graph) equal those of the training
// path (graph recorded, dropout 0) to 1e-5; inference records no autograd node, and after a warm-up
// it takes every tensor from the allocator's cache.
#include <datamux/core/autograd_stats.hpp>
#include <datamux/core/memory.hpp>
#include <datamux/train/model.hpp>
#include <datamux/pipeline/pipeline_config.hpp>
#include <datamux/tasks/task.hpp>
#include <gtest/gtest.h>

#include <fstream>

#include "run_test_util.hpp"

namespace datamux::runtime {
namespace {

constexpr int64_t kVocab = 40, kLength = 6, kHidden = 32, kRows = 3;

// Shapes and labels only; the test feeds its own batches.
class ShapeTask : public Task {
 public:
  ShapeTask(bool labels, bool token_level) : labels_(labels), token_level_(token_level) {}
  std::string kind() const override { return labels_ ? "text_classification" : "retrieval"; }
  void describe(BuildContext& ctx) const override {
    ctx.input = InputKind::Sequence;
    ctx.seq_len = kLength;
    ctx.vocab = kVocab;
    ctx.num_classes = labels_ ? 3 : 0;
  }
  bool has_labels() const override { return labels_; }
  bool token_level() const override { return token_level_; }
  Batch next_train_batch(int64_t, int64_t) override { return {}; }
  std::vector<Batch> eval_batches(Split, int64_t, int64_t) const override { return {}; }
  std::string summary() const override { return "test"; }

 private:
  bool labels_, token_level_;
};

struct Chain {
  const char* name;
  const char* mux;
  const char* demux;
  const char* head;  // "" = the retrieval task
  bool token_level;
  int64_t n;
  const char* mux_options = "";  // extra [mux] lines, e.g. "dropout = 0.0\n"
};

PipelineConfig chain_pipeline(const Chain& c) {
  const auto dir = datamux::testing::scratch_dir(std::string("inference-") + c.name);
  const auto path = dir / "pipeline.toml";
  std::ofstream(path) << "[task]\nkind = \"retrieval\"\nvocab = " << kVocab << "\nlength = " << kLength
                      << "\n[model]\ninstances = " << c.n << "\nhidden = " << kHidden
                      << "\nseed = 5\n[mux]\nplugin = \"" << c.mux << "\"\n" << c.mux_options << "[backbone]\nplugin = \"transformer\"\n"
                      << "layers = 2\nheads = 2\nffn = 48\ndropout = 0.0\n[demux]\nplugin = \"" << c.demux << "\"\n"
                      << (*c.head ? std::string("[head]\nplugin = \"") + c.head + "\"\n" : std::string("[head]\nall_instances = true\n"))
                      << "[train]\n"
                      << (*c.head ? "task_loss_coeff = 1.0\nretrieval_loss_coeff = 0.0\n"
                                  : "task_loss_coeff = 0.0\nretrieval_loss_coeff = 1.0\n");
  return load_pipeline(path.string());
}

Batch chain_batch(const Chain& c) {
  Rng rng(9);
  std::vector<int32_t> ids(static_cast<std::size_t>(c.n * kRows * kLength));
  for (auto& id : ids) id = static_cast<int32_t>(rng.randint(1, kVocab));
  ids[1] = kPadId;  // one padded position: the mask path is exercised too
  Batch b;
  b.inputs = Tensor::from_ints(ids, {c.n, kRows, kLength});
  if (!*c.head) {
    b.targets = b.inputs;
  } else {
    const Shape s = c.token_level ? Shape{c.n, kRows, kLength} : Shape{c.n, kRows};
    std::vector<int32_t> labels(static_cast<std::size_t>(shape_numel(s)));
    for (auto& l : labels) l = static_cast<int32_t>(rng.randint(0, 3));
    b.targets = Tensor::from_ints(labels, s);
  }
  b.examples = c.n * kRows;
  return b;
}

class InferencePath : public ::testing::TestWithParam<Chain> {};

TEST_P(InferencePath, EqualsTrainingPathWithoutGraphOrAllocation) {
  const Chain& c = GetParam();
  ShapeTask task(*c.head != 0, c.token_level);
  Registry registry = Registry::with_default_paths();
  MuxModel model(chain_pipeline(c), task, registry);
  const Batch batch = chain_batch(c);

  model.train();
  const ModelOutput training = model.forward(batch);
  ASSERT_TRUE(training.loss.requires_grad()) << "the training path should record a graph";

  model.eval();
  NoGradGuard no_grad;
  const uint64_t nodes = tape_nodes_recorded();
  const ModelOutput inference = model.forward(batch);
  EXPECT_EQ(tape_nodes_recorded(), nodes) << "inference recorded autograd nodes";

  ASSERT_EQ(inference.main.logits.shape(), training.main.logits.shape());
  const std::vector<float> a = inference.main.logits.to_vector(), e = training.main.logits.to_vector();
  for (std::size_t i = 0; i < a.size(); ++i)
    ASSERT_NEAR(a[i], e[i], 1e-5f + 1e-5f * std::fabs(e[i])) << "logit " << i;
  EXPECT_NEAR(inference.main.loss.item(), training.main.loss.item(), 1e-5f);

  for (int i = 0; i < 3; ++i) model.forward(batch);  // warm-up
  const uint64_t fresh = memory_stats().system_allocations;
  for (int i = 0; i < 10; ++i) model.forward(batch);
  EXPECT_EQ(memory_stats().system_allocations, fresh) << "steady-state inference allocated tensor memory";
}

INSTANTIATE_TEST_SUITE_P(
    BuiltinChains, InferencePath,
    ::testing::Values(Chain{"gaussian_index_cls", "gaussian", "index", "sequence_classification", false, 3},
                      Chain{"gaussian_index_retrieval", "gaussian", "index", "", true, 3},
                      Chain{"hadamard_mlp_tokens", "binary_hadamard", "mlp", "token_classification", true, 2},
                      Chain{"ortho_linear_cls", "random_ortho", "linear", "sequence_classification", false, 2},
                      // Dropout off where the plugin has it: training mode must then compute what inference does.
                      Chain{"contextual_index_n1", "contextual", "index", "sequence_classification", false, 1,
                            "dropout = 0.0\n"},
                      Chain{"low_rank_rsa_tokens", "random_ortho_low_rank", "rsa", "token_classification", true, 4}),
    [](const ::testing::TestParamInfo<Chain>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace datamux::runtime
