// head "retrieval", loaded through the registry: shapes in sampled, all-instance and eval modes, the
// sampled logits equal the all-instance logits at the drawn instances, sampling deterministic per seed
// and uniform over instances, ignored targets ignored, the decoder against a naive reference, gradients.
#include <algorithm>
#include <cmath>
#include <datamux/registry.hpp>
#include <gradcheck.hpp>

#include "../../testing/plugin_test_util.hpp"
#include <map>

using namespace datamux;
using datamux::testing::expect_close;
using datamux::testing::expect_gradients_match;

namespace {

constexpr int64_t kN = 4, kB = 3, kL = 5, kHidden = 6, kVocab = 11;

BuildContext head_ctx(Rng& rng, uint64_t seed = 41) {
  BuildContext ctx;
  ctx.instances = kN;
  ctx.hidden = kHidden;
  ctx.seq_len = kL;
  ctx.vocab = kVocab;
  ctx.task = "retrieval";
  ctx.seed = seed;
  ctx.rng = &rng;
  return ctx;
}

std::shared_ptr<Head> make_head(const Options& o, const BuildContext& ctx) {
  return datamux::testing::plugin_registry().create<Head>("retrieval", o, ctx, "[head]");
}

/// Targets that name their own instance: token (j, b, t) is j + 1, so the sampled targets reveal j_t.
Tensor instance_targets() {
  std::vector<int32_t> v;
  for (int64_t j = 0; j < kN; ++j)
    for (int64_t k = 0; k < kB * kL; ++k) v.push_back(static_cast<int32_t>(j + 1));
  return Tensor::from_ints(v, {kN, kB, kL});
}

}  // namespace

TEST(RetrievalHead, ShapesInSampledAllInstanceAndEvalModes) {
  Rng data(1);
  Tensor states = Tensor::randn({kN, kB, kL, kHidden}, data);
  for (bool all : {false, true}) {
    Rng rng(2);
    Options o;
    o.set("all_instances", all);
    auto head = make_head(o, head_ctx(rng));
    HeadOutput train = head->forward(states, instance_targets());
    if (all) {
      EXPECT_EQ(train.logits.shape(), (Shape{kN, kB, kL, kVocab}));
      EXPECT_EQ(train.targets.to_ints(), instance_targets().to_ints());
    } else {
      EXPECT_EQ(train.logits.shape(), (Shape{kB, kL, kVocab}));
      EXPECT_EQ(train.targets.shape(), (Shape{kB, kL}));
    }
    head->eval();
    HeadOutput eval = head->forward(states, instance_targets());
    EXPECT_EQ(eval.logits.shape(), (Shape{kN, kB, kL, kVocab}));
    EXPECT_EQ(eval.targets.to_ints(), instance_targets().to_ints());
  }
}

TEST(RetrievalHead, SampledLogitsAreTheDrawnInstancesDecoded) {
  Rng rng(3);
  auto head = make_head(Options(), head_ctx(rng));
  Rng data(4);
  Tensor states = Tensor::randn({kN, kB, kL, kHidden}, data);
  HeadOutput sampled = head->forward(states, instance_targets());
  head->eval();
  HeadOutput all = head->forward(states, instance_targets());
  std::vector<int32_t> picked = sampled.targets.to_ints();
  for (int64_t b = 0; b < kB; ++b)
    for (int64_t t = 0; t < kL; ++t) {
      const int64_t j = picked[b * kL + t] - 1;
      ASSERT_GE(j, 0);
      ASSERT_LT(j, kN);
      expect_close(sampled.logits.select(0, b).select(0, t).contiguous(),
                   all.logits.select(0, j).select(0, b).select(0, t).contiguous(), 1e-5f, 1e-5f);
    }
}

TEST(RetrievalHead, SamplingIsDeterministicPerSeedAndUniformOverInstances) {
  Rng data(5);
  Tensor states = Tensor::randn({kN, kB, kL, kHidden}, data);
  auto draws = [&](uint64_t seed, int calls) {
    Rng rng(6);
    auto head = make_head(Options(), head_ctx(rng, seed));
    std::vector<int32_t> all;
    for (int c = 0; c < calls; ++c) {
      std::vector<int32_t> t = head->forward(states, instance_targets()).targets.to_ints();
      all.insert(all.end(), t.begin(), t.end());
    }
    return all;
  };
  const std::vector<int32_t> a = draws(7, 200), b = draws(7, 200), c = draws(8, 200);
  EXPECT_EQ(a, b) << "same seed, different draws";
  EXPECT_NE(a, c) << "different seeds, same draws";
  std::vector<int> counts(kN, 0);
  for (int32_t v : a) ++counts[static_cast<std::size_t>(v - 1)];
  const double expected = static_cast<double>(a.size()) / kN;  // 750 draws per instance; sd ~ 23.7
  for (int64_t j = 0; j < kN; ++j) EXPECT_NEAR(counts[j], expected, 5 * std::sqrt(expected)) << "instance " << j;
  // Positions are drawn independently: within one call, not all positions pick the same instance.
  std::vector<int32_t> first(a.begin(), a.begin() + kB * kL);
  EXPECT_NE(std::count(first.begin(), first.end(), first[0]), kB * kL);
}

TEST(RetrievalHead, DecoderMatchesNaiveReference) {
  Rng rng(9);
  auto head = make_head(Options(), head_ctx(rng));
  head->eval();
  auto p = datamux::testing::parameter_map(*head);
  ASSERT_EQ(p.at("decoder.weight").shape(), (Shape{kVocab, kHidden}));
  std::vector<float> dw = p.at("transform.dense.weight").to_vector(), db = p.at("transform.dense.bias").to_vector();
  std::vector<float> nw = p.at("transform.norm.weight").to_vector(), nb = p.at("transform.norm.bias").to_vector();
  std::vector<float> vw = p.at("decoder.weight").to_vector(), vb = p.at("decoder.bias").to_vector();
  Rng data(10);
  Tensor states = Tensor::randn({kN, kB, kL, kHidden}, data);
  std::vector<float> s = states.to_vector(), expected;
  for (int64_t r = 0; r < kN * kB * kL; ++r) {
    std::vector<double> h(kHidden);
    double mean = 0, var = 0;
    for (int64_t o = 0; o < kHidden; ++o) {
      double v = db[o];
      for (int64_t i = 0; i < kHidden; ++i) v += dw[o * kHidden + i] * s[r * kHidden + i];
      h[o] = 0.5 * v * (1 + std::erf(v / std::sqrt(2.0)));
      mean += h[o] / kHidden;
    }
    for (double v : h) var += (v - mean) * (v - mean) / kHidden;
    for (int64_t o = 0; o < kHidden; ++o) h[o] = (h[o] - mean) / std::sqrt(var + 1e-5) * nw[o] + nb[o];
    for (int64_t c = 0; c < kVocab; ++c) {
      double v = vb[c];
      for (int64_t i = 0; i < kHidden; ++i) v += vw[c * kHidden + i] * h[i];
      expected.push_back(static_cast<float>(v));
    }
  }
  expect_close(head->forward(states, instance_targets()).logits, Tensor::from_vector(expected, {kN, kB, kL, kVocab}),
               1e-4f, 1e-3f);
}

TEST(RetrievalHead, IgnoredTargetsDoNotCount) {
  Rng rng(11);
  Options o;
  o.set("all_instances", true);
  auto head = make_head(o, head_ctx(rng));
  Rng data(12);
  Tensor states = Tensor::randn({kN, kB, kL, kHidden}, data).set_requires_grad();
  std::vector<int32_t> t = instance_targets().to_ints();
  for (int64_t k = 0; k < kB * kL; ++k) t[static_cast<std::size_t>(2 * kB * kL + k)] = -100;  // instance 2: padding
  Tensor targets = Tensor::from_ints(t, {kN, kB, kL});
  HeadOutput out = head->forward(states, targets);
  out.loss.backward();
  std::vector<float> g2 = states.grad().select(0, 2).contiguous().to_vector();
  for (float v : g2) EXPECT_EQ(v, 0.f);
  // The loss is the mean over the counted tokens only: the other instances' losses, each computed alone.
  double sum = 0;
  for (int64_t j : {0, 1, 3}) {
    std::vector<int32_t> only(t.size(), -100);
    for (int64_t k = 0; k < kB * kL; ++k) only[j * kB * kL + k] = t[j * kB * kL + k];
    sum += head->forward(states, Tensor::from_ints(only, {kN, kB, kL})).loss.item();
  }
  EXPECT_NEAR(out.loss.item(), sum / 3, 1e-5);
  // Sampled mode: positions whose drawn instance is padding score nothing; all padding gives loss 0.
  auto sampled = make_head(Options(), head_ctx(rng));
  Tensor none = Tensor::from_ints(std::vector<int32_t>(kN * kB * kL, -100), {kN, kB, kL});
  EXPECT_EQ(sampled->forward(states, none).loss.item(), 0.f);
}

TEST(RetrievalHead, RejectsBadShapesAndTasks) {
  Rng rng(13);
  auto head = make_head(Options(), head_ctx(rng));
  EXPECT_THROW(head->forward(Tensor::zeros({kN, kB, kHidden}), instance_targets()), std::invalid_argument);
  EXPECT_THROW(head->forward(Tensor::zeros({kN - 1, kB, kL, kHidden}), instance_targets()), std::invalid_argument);
  EXPECT_THROW(head->forward(Tensor::zeros({kN, kB, kL, kHidden}), Tensor::zeros({kN, kB, kL})), std::invalid_argument);
  BuildContext no_vocab = head_ctx(rng);
  no_vocab.vocab = 0;
  EXPECT_THROW(make_head(Options(), no_vocab), InputError);
}

TEST(RetrievalHead, GradientsMatchFiniteDifferences) {
  Rng data(14);
  Tensor states = Tensor::randn({kN, kB, kL, kHidden}, data).set_requires_grad();
  // Sampled mode: a fresh head from the same seed draws the same instances on every call.
  expect_gradients_match(
      [&] {
        Rng rng(15);
        return make_head(Options(), head_ctx(rng))->forward(states, instance_targets()).loss;
      },
      {states});
  Rng rng(16);
  Options o;
  o.set("all_instances", true);
  auto head = make_head(o, head_ctx(rng));
  auto p = datamux::testing::parameter_map(*head);
  expect_gradients_match([&] { return head->forward(states, instance_targets()).loss; },
                         {states, p.at("transform.dense.weight"), p.at("transform.norm.weight"), p.at("decoder.bias")});
}
