// head "mlm", loaded through the registry: training decodes only the counted (masked) positions of every
// instance and its loss equals the eval-mode loss over all positions with the same targets; eval mode
// scores every instance (per-index accuracy); no masked position gives loss 0; the parameter names are
// the retrieval head's; bad shapes refused; gradients against finite differences.
#include <datamux/registry.hpp>

#include <cmath>
#include <gradcheck.hpp>

#include "../../testing/plugin_test_util.hpp"

using namespace datamux;
using datamux::testing::expect_close;
using datamux::testing::expect_gradients_match;

namespace {

constexpr int64_t kN = 3, kB = 2, kL = 5, kHidden = 6, kVocab = 13;

BuildContext head_ctx(Rng& rng) {
  BuildContext ctx;
  ctx.instances = kN;
  ctx.hidden = kHidden;
  ctx.seq_len = kL;
  ctx.vocab = kVocab;
  ctx.task = "mlm";
  ctx.seed = 5;
  ctx.rng = &rng;
  return ctx;
}

std::shared_ptr<Head> make_head(const Options& o, const BuildContext& ctx) {
  return datamux::testing::plugin_registry().create<Head>("mlm", o, ctx, "[head]");
}

/// Every third position of the flattened [N, B, L] targets is masked (token id k % vocab), the rest -100;
/// so every instance has masked positions.
Tensor masked_targets() {
  std::vector<int32_t> v(static_cast<std::size_t>(kN * kB * kL), -100);
  for (std::size_t k = 0; k < v.size(); k += 3) v[k] = static_cast<int32_t>((k * 5 + 4) % kVocab);
  return Tensor::from_ints(v, {kN, kB, kL});
}

}  // namespace

TEST(MlmHead, TrainingDecodesOnlyMaskedPositionsOfEveryInstance) {
  Rng rng(1), data(2);
  auto head = make_head(Options(), head_ctx(rng));
  const Tensor states = Tensor::randn({kN, kB, kL, kHidden}, data);
  const Tensor targets = masked_targets();
  HeadOutput train = head->forward(states, targets);
  const int64_t masked = (kN * kB * kL + 2) / 3;
  EXPECT_EQ(train.logits.shape(), (Shape{1, masked, kVocab}));
  ASSERT_EQ(train.targets.shape(), (Shape{1, masked}));
  std::vector<int32_t> expected;
  for (int32_t t : targets.to_ints())
    if (t != -100) expected.push_back(t);
  EXPECT_EQ(train.targets.to_ints(), expected);

  head->eval();
  HeadOutput eval = head->forward(states, targets);
  EXPECT_EQ(eval.logits.shape(), (Shape{kN, kB, kL, kVocab}));
  EXPECT_EQ(eval.targets.to_ints(), targets.to_ints());
  // The same rows decoded either way (no dropout in the head): same logits, same mean loss.
  const std::vector<float> all = eval.logits.contiguous().to_vector(), picked = train.logits.contiguous().to_vector();
  int64_t row = 0;
  const std::vector<int32_t> t = targets.to_ints();
  for (std::size_t k = 0; k < t.size(); ++k) {
    if (t[k] == -100) continue;
    for (int64_t c = 0; c < kVocab; ++c)
      EXPECT_NEAR(picked[static_cast<std::size_t>(row * kVocab + c)], all[k * kVocab + static_cast<std::size_t>(c)], 1e-5);
    ++row;
  }
  EXPECT_NEAR(train.loss.item(), eval.loss.item(), 1e-5);
}

TEST(MlmHead, UnmaskedPositionsGetNoGradientAndNoMaskGivesLossZero) {
  Rng rng(3), data(4);
  auto head = make_head(Options(), head_ctx(rng));
  Tensor states = Tensor::randn({kN, kB, kL, kHidden}, data).set_requires_grad();
  const Tensor targets = masked_targets();
  head->forward(states, targets).loss.backward();
  const std::vector<float> g = states.grad().contiguous().to_vector();
  const std::vector<int32_t> t = targets.to_ints();
  for (std::size_t k = 0; k < t.size(); ++k) {
    float norm = 0;
    for (int64_t d = 0; d < kHidden; ++d) norm += std::abs(g[k * kHidden + static_cast<std::size_t>(d)]);
    if (t[k] == -100) {
      EXPECT_EQ(norm, 0.f) << "position " << k;
    } else {
      EXPECT_GT(norm, 0.f) << "position " << k;
    }
  }
  const Tensor none = Tensor::from_ints(std::vector<int32_t>(kN * kB * kL, -100), {kN, kB, kL});
  EXPECT_EQ(head->forward(states, none).loss.item(), 0.f);
}

TEST(MlmHead, DecoderMatchesNaiveReferenceAndSharesTheRetrievalHeadsNames) {
  Rng rng(5), data(6);
  auto head = make_head(Options(), head_ctx(rng));
  auto p = datamux::testing::parameter_map(*head);
  Rng rng2(5);
  auto retrieval = datamux::testing::plugin_registry().create<Head>("retrieval", Options(), head_ctx(rng2), "[head]");
  for (const auto& [name, tensor] : datamux::testing::parameter_map(*retrieval)) {
    ASSERT_TRUE(p.count(name)) << name << ": a retrieval warm-up's decoder must load into the mlm head";
    EXPECT_EQ(p.at(name).shape(), tensor.shape());
  }
  // Reference: logits = W_dec LN(gelu(W x + b)) + b_dec for one masked row.
  const Tensor states = Tensor::randn({kN, kB, kL, kHidden}, data);
  std::vector<int32_t> t(static_cast<std::size_t>(kN * kB * kL), -100);
  const std::size_t row = 7;
  t[row] = 2;
  HeadOutput out = head->forward(states, Tensor::from_ints(t, {kN, kB, kL}));
  const std::vector<float> x = states.contiguous().to_vector();
  const std::vector<float> w = p.at("transform.dense.weight").to_vector(), b = p.at("transform.dense.bias").to_vector();
  const std::vector<float> gam = p.at("transform.norm.weight").to_vector(), bet = p.at("transform.norm.bias").to_vector();
  const std::vector<float> wd = p.at("decoder.weight").to_vector(), bd = p.at("decoder.bias").to_vector();
  std::vector<double> h(kHidden);
  for (int64_t o = 0; o < kHidden; ++o) {
    double s = b[static_cast<std::size_t>(o)];
    for (int64_t i = 0; i < kHidden; ++i) s += w[static_cast<std::size_t>(o * kHidden + i)] * x[row * kHidden + static_cast<std::size_t>(i)];
    h[static_cast<std::size_t>(o)] = 0.5 * s * (1 + std::erf(s / std::sqrt(2.0)));
  }
  double mean = 0, var = 0;
  for (double v : h) mean += v / kHidden;
  for (double v : h) var += (v - mean) * (v - mean) / kHidden;
  for (int64_t o = 0; o < kHidden; ++o)
    h[static_cast<std::size_t>(o)] = (h[static_cast<std::size_t>(o)] - mean) / std::sqrt(var + 1e-5) * gam[static_cast<std::size_t>(o)] + bet[static_cast<std::size_t>(o)];
  std::vector<float> expected(kVocab);
  for (int64_t c = 0; c < kVocab; ++c) {
    double s = bd[static_cast<std::size_t>(c)];
    for (int64_t i = 0; i < kHidden; ++i) s += wd[static_cast<std::size_t>(c * kHidden + i)] * h[static_cast<std::size_t>(i)];
    expected[static_cast<std::size_t>(c)] = static_cast<float>(s);
  }
  expect_close(out.logits.reshape({kVocab}), Tensor::from_vector(expected, {kVocab}), 1e-4f);
}

TEST(MlmHead, RejectsBadShapesAndTasksWithoutVocabulary) {
  Rng rng(7);
  auto head = make_head(Options(), head_ctx(rng));
  EXPECT_THROW(head->forward(Tensor::zeros({kN, kB, kHidden}), masked_targets()), std::invalid_argument);
  EXPECT_THROW(head->forward(Tensor::zeros({kN + 1, kB, kL, kHidden}), masked_targets()), std::invalid_argument);
  EXPECT_THROW(head->forward(Tensor::zeros({kN, kB, kL, kHidden}), Tensor::zeros({kN, kB, kL})), std::invalid_argument);
  BuildContext no_vocab = head_ctx(rng);
  no_vocab.vocab = 0;
  EXPECT_THROW(make_head(Options(), no_vocab), InputError);
}

TEST(MlmHead, GradientsMatchFiniteDifferences) {
  Rng rng(8), data(9);
  auto head = make_head(Options(), head_ctx(rng));
  Tensor states = Tensor::randn({kN, kB, kL, kHidden}, data).set_requires_grad();
  auto p = datamux::testing::parameter_map(*head);
  expect_gradients_match([&] { return head->forward(states, masked_targets()).loss; },
                         {states, p.at("transform.dense.weight"), p.at("transform.norm.bias"), p.at("decoder.weight")});
}
