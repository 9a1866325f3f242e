// The retrieval task's held-out batches: when the held-out count is not a multiple of N x batch, the
// partial batch still gives every instance index its share of sequences (per-index accuracy and the
// lowest index of metrics.csv depend on it).
#include <datamux/pipeline/pipeline_config.hpp>
#include <datamux/tasks/task.hpp>
#include <gtest/gtest.h>

#include <fstream>
#include <vector>

#include "run_test_util.hpp"

namespace datamux::runtime {
namespace {

std::vector<int64_t> real_sequences_per_instance(int64_t n, int64_t batch, int64_t eval_examples) {
  const auto path = datamux::testing::scratch_dir("retrieval-eval-layout") / "pipeline.toml";
  std::ofstream(path) << "[task]\nkind = \"retrieval\"\nvocab = 50\nlength = 4\neval_examples = " << eval_examples
                      << "\n[model]\ninstances = " << n << "\n[mux]\nplugin = \"gaussian\"\n[backbone]\nplugin = "
                      << "\"transformer\"\n[demux]\nplugin = \"mlp\"\n";
  const PipelineConfig c = load_pipeline(path.string());
  auto task = make_task(c);
  std::vector<int64_t> per(static_cast<std::size_t>(n), 0);
  int64_t examples = 0;
  for (const Batch& b : task->eval_batches(Split::Test, n, batch)) {
    examples += b.examples;
    const Tensor t = b.targets.contiguous();  // [N, B, L]
    const int32_t* tg = t.data<int32_t>();
    for (int64_t i = 0; i < n; ++i)
      for (int64_t r = 0; r < batch; ++r) per[static_cast<std::size_t>(i)] += tg[(i * batch + r) * 4] >= 0 ? 1 : 0;
  }
  EXPECT_EQ(examples, eval_examples);
  return per;
}

TEST(RetrievalEvalLayout, APartialBatchCoversEveryInstanceIndex) {
  // N = 40, batch 32: 1024 sequences fit in one partial batch of 1280 slots.
  const auto per = real_sequences_per_instance(40, 32, 1024);
  int64_t total = 0;
  for (int64_t k : per) {
    EXPECT_GE(k, 1024 / 40);
    EXPECT_LE(k, 1024 / 40 + 1);
    total += k;
  }
  EXPECT_EQ(total, 1024);
}

TEST(RetrievalEvalLayout, FullBatchesCountEverySlot) {
  const auto per = real_sequences_per_instance(4, 8, 64);  // two full batches of 32
  for (int64_t k : per) EXPECT_EQ(k, 16);
}

}  // namespace
}  // namespace datamux::runtime
