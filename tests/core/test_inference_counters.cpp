// The inference path does no training work: no autograd nodes under NoGradGuard, and no fresh tensor
// memory once the caching allocator is warm.
#include <datamux/core/autograd_stats.hpp>
#include <datamux/core/memory.hpp>
#include <datamux/nn.hpp>
#include <datamux/ops.hpp>
#include <gtest/gtest.h>

namespace datamux {
namespace {

// A small Transformer-like block built from the ops a backbone uses.
struct Block {
  explicit Block(Rng& rng) : fc1(16, 32, rng), fc2(32, 16, rng), norm(16) {}
  Tensor forward(const Tensor& x) const {
    const int64_t b = x.size(0), t = x.size(1);
    Tensor q = x.reshape({b, t, 2, 8}).permute({0, 2, 1, 3});
    Tensor a = ops::scaled_dot_product_attention(q, q, q).permute({0, 2, 1, 3}).reshape({b, t, 16});
    Tensor h = norm.forward(ops::add(x, a));
    Tensor f = fc2.forward(fc1.forward(h, ops::Activation::gelu), ops::Activation::none, h);
    return ops::softmax(ops::mul(f, 0.5f), -1);
  }
  nn::Linear fc1, fc2;
  nn::LayerNorm norm;
};

TEST(InferenceCounters, NoTapeNodesUnderNoGradGuard) {
  Rng rng(1);
  Block block(rng);
  Tensor x = Tensor::randn({2, 4, 16}, rng);
  const uint64_t before = tape_nodes_recorded();
  {
    NoGradGuard no_grad;
    Tensor y = block.forward(x);
    EXPECT_FALSE(y.requires_grad());
  }
  EXPECT_EQ(tape_nodes_recorded(), before);
  Tensor y = block.forward(x);  // parameters require grad: this records
  EXPECT_GT(tape_nodes_recorded(), before);
  EXPECT_TRUE(y.requires_grad());
}

TEST(InferenceCounters, SteadyStateInferenceAllocatesNothing) {
  Rng rng(2);
  Block block(rng);
  Tensor x = Tensor::randn({2, 4, 16}, rng);
  NoGradGuard no_grad;
  for (int i = 0; i < 3; ++i) block.forward(x);  // warm-up: the cache fills
  const MemoryStats before = memory_stats();
  for (int i = 0; i < 10; ++i) block.forward(x);
  const MemoryStats after = memory_stats();
  EXPECT_GT(after.allocations, before.allocations);  // tensors were handed out ...
  EXPECT_EQ(after.system_allocations, before.system_allocations);  // ... all from the cache
}

TEST(InferenceCounters, PeakResetsToLiveBytes) {
  { Tensor big = Tensor::zeros({1 << 16}); }
  reset_peak_memory();
  const MemoryStats s = memory_stats();
  EXPECT_EQ(s.peak_bytes, s.live_bytes);
}

}  // namespace
}  // namespace datamux
