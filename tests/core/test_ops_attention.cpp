// ops::scaled_dot_product_attention: forward against a naive double-precision loop, gradients against
// finite differences (masked, non-contiguous, Lq != Lk), and that padded keys truly have no influence.
#include <datamux/ops.hpp>
#include <gradcheck.hpp>

#include <cmath>
#include <stdexcept>

using namespace datamux;
using datamux::testing::expect_close;
using datamux::testing::expect_gradients_match;
using datamux::testing::weighted_sum;

namespace {

Tensor naive_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask) {
  const int64_t b = q.size(0), h = q.size(1), lq = q.size(2), d = q.size(3), lk = k.size(2), dv = v.size(3);
  const double scale = 1.0 / std::sqrt(static_cast<double>(d));
  std::vector<float> out(static_cast<std::size_t>(b * h * lq * dv), 0.f);
  for (int64_t ib = 0; ib < b; ++ib)
    for (int64_t ih = 0; ih < h; ++ih)
      for (int64_t i = 0; i < lq; ++i) {
        std::vector<double> s(static_cast<std::size_t>(lk));
        double mx = -INFINITY;
        for (int64_t j = 0; j < lk; ++j) {
          double acc = 0;
          for (int64_t c = 0; c < d; ++c) acc += static_cast<double>(q.at({ib, ih, i, c})) * k.at({ib, ih, j, c});
          s[j] = acc * scale;
          if (!mask.defined() || mask.at({ib, j}) != 0.f) mx = std::max(mx, s[j]);
        }
        if (mx == -INFINITY) continue;  // all keys padded: zeros
        double sum = 0;
        for (int64_t j = 0; j < lk; ++j) {
          s[j] = (!mask.defined() || mask.at({ib, j}) != 0.f) ? std::exp(s[j] - mx) : 0.0;
          sum += s[j];
        }
        for (int64_t c = 0; c < dv; ++c) {
          double acc = 0;
          for (int64_t j = 0; j < lk; ++j) acc += s[j] / sum * v.at({ib, ih, j, c});
          out[static_cast<std::size_t>(((ib * h + ih) * lq + i) * dv + c)] = static_cast<float>(acc);
        }
      }
  return Tensor::from_vector(out, {b, h, lq, dv});
}

// Batch 0 keeps its first 3 of 5 keys, batch 1 keeps keys 1 and 4.
Tensor example_mask() { return Tensor::from_vector({1, 1, 1, 0, 0, /**/ 0, 1, 0, 0, 1}, {2, 5}); }

}  // namespace

TEST(Attention, ForwardMatchesNaiveWithoutMask) {
  Rng rng(1);
  Tensor q = Tensor::randn({2, 3, 4, 8}, rng), k = Tensor::randn({2, 3, 6, 8}, rng), v = Tensor::randn({2, 3, 6, 5}, rng);
  Tensor out = ops::scaled_dot_product_attention(q, k, v);
  EXPECT_EQ(out.shape(), (Shape{2, 3, 4, 5}));
  expect_close(out, naive_attention(q, k, v, Tensor()), 1e-5f, 1e-4f);
}

TEST(Attention, ForwardMatchesNaiveWithMaskAndLargeScores) {
  Rng rng(2);
  Tensor q = Tensor::randn({2, 2, 3, 4}, rng, 0.f, 6.f), k = Tensor::randn({2, 2, 5, 4}, rng, 0.f, 6.f);
  Tensor v = Tensor::randn({2, 2, 5, 4}, rng);
  expect_close(ops::scaled_dot_product_attention(q, k, v, example_mask()), naive_attention(q, k, v, example_mask()), 1e-5f, 1e-4f);
}

TEST(Attention, LongRowsMatchNaive) {  // rows long enough for the parallel, vectorised path
  Rng rng(3);
  Tensor q = Tensor::randn({1, 2, 33, 16}, rng), k = Tensor::randn({1, 2, 200, 16}, rng), v = Tensor::randn({1, 2, 200, 16}, rng);
  std::vector<float> m(200, 1.f);
  for (int i = 150; i < 200; ++i) m[static_cast<std::size_t>(i)] = 0.f;
  Tensor mask = Tensor::from_vector(m, {1, 200});
  expect_close(ops::scaled_dot_product_attention(q, k, v, mask), naive_attention(q, k, v, mask), 1e-5f, 1e-4f);
}

TEST(Attention, NonContiguousHeadsMatchNaive) {
  Rng rng(4);
  // As after a projection: [B, L, H, D] permuted to [B, H, L, D].
  Tensor q = Tensor::randn({2, 4, 3, 8}, rng).permute({0, 2, 1, 3});
  Tensor k = Tensor::randn({2, 5, 3, 8}, rng).permute({0, 2, 1, 3});
  Tensor v = Tensor::randn({2, 5, 3, 8}, rng).permute({0, 2, 1, 3});
  expect_close(ops::scaled_dot_product_attention(q, k, v, example_mask()), naive_attention(q, k, v, example_mask()), 1e-5f, 1e-4f);
}

TEST(Attention, MaskedKeysHaveNoInfluence) {
  Rng rng(5);
  Tensor q = Tensor::randn({2, 2, 3, 4}, rng), k = Tensor::randn({2, 2, 5, 4}, rng), v = Tensor::randn({2, 2, 5, 4}, rng);
  Tensor mask = example_mask();
  Tensor before = ops::scaled_dot_product_attention(q, k, v, mask);
  // Overwrite every masked key and value with large garbage.
  Tensor k2 = k.clone(), v2 = v.clone();
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t j = 0; j < 5; ++j) {
      if (mask.at({b, j}) != 0.f) continue;
      k2.select(0, b).select(1, j).copy_(Tensor::randn({2, 4}, rng, 0.f, 100.f));
      v2.select(0, b).select(1, j).copy_(Tensor::randn({2, 4}, rng, 0.f, 100.f));
    }
  Tensor after = ops::scaled_dot_product_attention(q, k2, v2, mask);
  EXPECT_EQ(after.to_vector(), before.to_vector());
  // Without the mask the same change does matter (the test above can fail).
  Tensor unmasked = ops::scaled_dot_product_attention(q, k2, v2);
  EXPECT_NE(unmasked.to_vector(), before.to_vector());
}

TEST(Attention, MaskedKeysReceiveZeroGradient) {
  Rng rng(6);
  Tensor q = Tensor::randn({2, 1, 3, 4}, rng).set_requires_grad();
  Tensor k = Tensor::randn({2, 1, 5, 4}, rng).set_requires_grad();
  Tensor v = Tensor::randn({2, 1, 5, 4}, rng).set_requires_grad();
  Tensor mask = example_mask();
  weighted_sum(ops::scaled_dot_product_attention(q, k, v, mask)).backward();
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t j = 0; j < 5; ++j)
      for (int64_t c = 0; c < 4; ++c) {
        if (mask.at({b, j}) != 0.f) continue;
        EXPECT_EQ(k.grad().at({b, 0, j, c}), 0.f);
        EXPECT_EQ(v.grad().at({b, 0, j, c}), 0.f);
      }
}

TEST(Attention, FullyMaskedRowGivesZerosNotNaN) {
  Rng rng(7);
  Tensor q = Tensor::randn({2, 2, 3, 4}, rng).set_requires_grad();
  Tensor k = Tensor::randn({2, 2, 4, 4}, rng).set_requires_grad();
  Tensor v = Tensor::randn({2, 2, 4, 4}, rng).set_requires_grad();
  Tensor mask = Tensor::from_vector({1, 1, 0, 1, /**/ 0, 0, 0, 0}, {2, 4});
  Tensor out = ops::scaled_dot_product_attention(q, k, v, mask);
  for (float x : out.select(0, 1).contiguous().to_vector()) EXPECT_EQ(x, 0.f);
  for (float x : out.to_vector()) EXPECT_TRUE(std::isfinite(x));
  weighted_sum(out).backward();
  for (const Tensor& t : {q, k, v})
    for (float x : t.grad().to_vector()) EXPECT_TRUE(std::isfinite(x));
  for (float x : q.grad().select(0, 1).contiguous().to_vector()) EXPECT_EQ(x, 0.f);
}

TEST(AttentionGrad, UnmaskedLqDifferentFromLk) {
  Rng rng(10);
  Tensor q = Tensor::randn({1, 2, 3, 4}, rng).set_requires_grad();
  Tensor k = Tensor::randn({1, 2, 5, 4}, rng).set_requires_grad();
  Tensor v = Tensor::randn({1, 2, 5, 3}, rng).set_requires_grad();
  expect_gradients_match([&] { return weighted_sum(ops::scaled_dot_product_attention(q, k, v)); }, {q, k, v});
}

TEST(AttentionGrad, MaskedWithFullyMaskedBatch) {
  Rng rng(11);
  Tensor q = Tensor::randn({2, 2, 3, 4}, rng).set_requires_grad();
  Tensor k = Tensor::randn({2, 2, 4, 4}, rng).set_requires_grad();
  Tensor v = Tensor::randn({2, 2, 4, 4}, rng).set_requires_grad();
  Tensor mask = Tensor::from_vector({1, 0, 1, 1, /**/ 0, 0, 0, 0}, {2, 4});
  expect_gradients_match([&] { return weighted_sum(ops::scaled_dot_product_attention(q, k, v, mask)); }, {q, k, v});
}

TEST(AttentionGrad, NonContiguousSlicedAndPermutedInputs) {
  Rng rng(12);
  // One fused projection output [B, L, 3*H*D] split into q, k, v by slicing, then heads permuted out.
  const int64_t b = 2, l = 5, h = 2, d = 3;
  Tensor qkv = Tensor::randn({b, l, 3 * h * d}, rng).set_requires_grad();
  auto head = [&](int64_t i) { return qkv.slice(2, i * h * d, (i + 1) * h * d).reshape({b, l, h, d}).permute({0, 2, 1, 3}); };
  expect_gradients_match([&] { return weighted_sum(ops::scaled_dot_product_attention(head(0), head(1), head(2), example_mask())); },
                         {qkv});
}

TEST(Attention, BadInputThrows) {
  Tensor q = Tensor::zeros({2, 2, 3, 4}), k = Tensor::zeros({2, 2, 5, 4});
  EXPECT_THROW(ops::scaled_dot_product_attention(Tensor::zeros({2, 3, 4}), k, k), std::invalid_argument);
  EXPECT_THROW(ops::scaled_dot_product_attention(q, Tensor::zeros({2, 2, 5, 3}), k), std::invalid_argument);
  EXPECT_THROW(ops::scaled_dot_product_attention(q, k, Tensor::zeros({2, 2, 4, 4})), std::invalid_argument);
  EXPECT_THROW(ops::scaled_dot_product_attention(q, k, k, Tensor::ones({2, 4})), std::invalid_argument);
  EXPECT_THROW(ops::scaled_dot_product_attention(q, k, k, Tensor::ones({2, 5}).to(DType::i32)), std::invalid_argument);
}
