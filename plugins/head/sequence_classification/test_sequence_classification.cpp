// head "sequence_classification", loaded through the registry: pooling, the shared and per-instance
// hidden layers against a naive reference, the loss with ignored rows, shapes, errors, gradients.
#include <cmath>
#include <datamux/registry.hpp>
#include <gradcheck.hpp>

#include "../../testing/plugin_test_util.hpp"
#include <map>

using namespace datamux;
using datamux::testing::expect_close;
using datamux::testing::expect_gradients_match;

namespace {

constexpr int64_t kN = 3, kB = 2, kL = 4, kHidden = 5, kClasses = 3;

BuildContext head_ctx(Rng& rng) {
  BuildContext ctx;
  ctx.instances = kN;
  ctx.hidden = kHidden;
  ctx.seq_len = kL;
  ctx.num_classes = kClasses;
  ctx.seed = 21;
  ctx.rng = &rng;
  return ctx;
}

std::shared_ptr<Head> make_head(const Options& o, const BuildContext& ctx) {
  return datamux::testing::plugin_registry().create<Head>("sequence_classification", o, ctx, "[head]");
}

/// y = W x + b for one row; W [out, in] flattened (offset selects an instance's matrix).
std::vector<float> affine(const std::vector<float>& w, const std::vector<float>& b, const std::vector<float>& x,
                          int64_t out, std::size_t w_offset = 0, std::size_t b_offset = 0) {
  const int64_t in = static_cast<int64_t>(x.size());
  std::vector<float> y(static_cast<std::size_t>(out));
  for (int64_t o = 0; o < out; ++o) {
    float s = b[b_offset + o];
    for (int64_t i = 0; i < in; ++i) s += w[w_offset + o * in + i] * x[i];
    y[o] = s;
  }
  return y;
}

/// Naive logits [N, B, C] from states [N, B, L, hidden].
std::vector<float> reference_logits(const Module& m, const Tensor& states, bool mean_pool, bool per_instance,
                                    bool hidden_layer) {
  auto p = datamux::testing::parameter_map(m);
  std::vector<float> s = states.to_vector(), out;
  std::vector<float> cw = p.at("classifier.weight").to_vector(), cb = p.at("classifier.bias").to_vector();
  std::vector<float> dw, db;
  if (hidden_layer) dw = p.at("dense.weight").to_vector(), db = p.at("dense.bias").to_vector();
  for (int64_t i = 0; i < kN; ++i)
    for (int64_t b = 0; b < kB; ++b) {
      std::vector<float> pooled(kHidden, 0.f);
      for (int64_t t = 0; t < (mean_pool ? kL : 1); ++t)
        for (int64_t d = 0; d < kHidden; ++d)
          pooled[d] += s[((i * kB + b) * kL + t) * kHidden + d] / (mean_pool ? kL : 1);
      if (hidden_layer) {
        const std::size_t wo = per_instance ? static_cast<std::size_t>(i * kHidden * kHidden) : 0;
        const std::size_t bo = per_instance ? static_cast<std::size_t>(i * kHidden) : 0;
        pooled = affine(dw, db, pooled, kHidden, wo, bo);
        for (float& v : pooled) v = std::tanh(v);
      }
      std::vector<float> logits = affine(cw, cb, pooled, kClasses);
      out.insert(out.end(), logits.begin(), logits.end());
    }
  return out;
}

float reference_loss(const std::vector<float>& logits, const std::vector<int32_t>& targets) {
  double total = 0;
  int counted = 0;
  for (std::size_t r = 0; r < targets.size(); ++r) {
    if (targets[r] == -100) continue;
    double mx = -1e300, z = 0;
    for (int64_t c = 0; c < kClasses; ++c) mx = std::max<double>(mx, logits[r * kClasses + c]);
    for (int64_t c = 0; c < kClasses; ++c) z += std::exp(logits[r * kClasses + c] - mx);
    total += std::log(z) + mx - logits[r * kClasses + targets[r]];
    ++counted;
  }
  return counted ? static_cast<float>(total / counted) : 0.f;
}

Tensor some_targets() { return Tensor::from_ints({0, 2, 1, -100, 2, 0}, {kN, kB}); }

}  // namespace

TEST(SequenceClassificationHead, MatchesNaiveReferenceForEachConfiguration) {
  struct Case {
    std::string pooling;
    bool hidden_layer, per_instance;
  };
  for (const Case& c : {Case{"cls", true, false}, Case{"mean", true, false}, Case{"cls", false, false},
                        Case{"mean", true, true}, Case{"cls", true, true}}) {
    Rng rng(1);
    Options o;
    o.set("pooling", c.pooling);
    o.set("hidden_layer", c.hidden_layer);
    o.set("per_instance_hidden", c.per_instance);
    auto head = make_head(o, head_ctx(rng));
    Rng data(2);
    Tensor states = Tensor::randn({kN, kB, kL, kHidden}, data);
    Tensor targets = some_targets();
    for (bool training : {true, false}) {
      head->train(training);
      HeadOutput out = head->forward(states, targets);
      ASSERT_EQ(out.logits.shape(), (Shape{kN, kB, kClasses}));
      ASSERT_EQ(out.targets.shape(), (Shape{kN, kB}));
      EXPECT_EQ(out.targets.to_ints(), targets.to_ints());
      std::vector<float> expected =
          reference_logits(*head, states, c.pooling == "mean", c.per_instance, c.hidden_layer);
      expect_close(out.logits, Tensor::from_vector(expected, {kN, kB, kClasses}), 1e-5f, 1e-4f);
      EXPECT_NEAR(out.loss.item(), reference_loss(expected, targets.to_ints()), 1e-5f)
          << c.pooling << " per_instance " << c.per_instance;
    }
  }
}

TEST(SequenceClassificationHead, PerInstanceHiddenLayerHasOneMatrixPerInstance) {
  Rng rng(3);
  Options o;
  o.set("per_instance_hidden", true);
  auto p = datamux::testing::parameter_map(*make_head(o, head_ctx(rng)));
  EXPECT_EQ(p.at("dense.weight").shape(), (Shape{kN, kHidden, kHidden}));
  EXPECT_EQ(p.at("dense.bias").shape(), (Shape{kN, kHidden}));
  EXPECT_EQ(p.at("classifier.weight").shape(), (Shape{kClasses, kHidden}));
  Options bad = o;
  bad.set("hidden_layer", false);
  EXPECT_THROW(make_head(bad, head_ctx(rng)), InputError);
}

TEST(SequenceClassificationHead, ClsPoolingReadsOnlyPositionZero) {
  Rng rng(4);
  auto head = make_head(Options(), head_ctx(rng));
  Rng data(5);
  Tensor states = Tensor::randn({kN, kB, kL, kHidden}, data);
  Tensor changed = states.clone();
  changed.slice(2, 1, kL).fill_(7.f);
  expect_close(head->forward(changed, some_targets()).logits, head->forward(states, some_targets()).logits, 1e-6f,
               1e-6f);
  changed.slice(2, 0, 1).fill_(7.f);
  EXPECT_GT(
      std::fabs(head->forward(changed, some_targets()).loss.item() - head->forward(states, some_targets()).loss.item()),
      1e-4f);
}

TEST(SequenceClassificationHead, AcceptsVectorStates) {
  Rng rng(6);
  Options o;
  o.set("per_instance_hidden", true);
  auto head = make_head(o, head_ctx(rng));
  Rng data(7);
  Tensor vec = Tensor::randn({kN, kB, kHidden}, data);
  HeadOutput out = head->forward(vec, some_targets());
  ASSERT_EQ(out.logits.shape(), (Shape{kN, kB, kClasses}));
  // The same as a one-position sequence pooled with cls.
  expect_close(out.logits, head->forward(vec.unsqueeze(2), some_targets()).logits, 1e-6f, 1e-6f);
}

TEST(SequenceClassificationHead, IgnoredRowsDoNotCount) {
  Rng rng(8);
  auto head = make_head(Options(), head_ctx(rng));
  Rng data(9);
  Tensor states = Tensor::randn({kN, kB, kL, kHidden}, data).set_requires_grad();
  Tensor all_ignored = Tensor::from_ints(std::vector<int32_t>(kN * kB, -100), {kN, kB});
  EXPECT_EQ(head->forward(states, all_ignored).loss.item(), 0.f);
  HeadOutput out = head->forward(states, some_targets());  // row (1, 1) is ignored
  out.loss.backward();
  std::vector<float> g = states.grad().select(0, 1).select(0, 1).contiguous().to_vector();
  for (float v : g) EXPECT_EQ(v, 0.f);
  std::vector<float> counted = states.grad().select(0, 1).select(0, 0).contiguous().to_vector();
  float norm = 0.f;
  for (float v : counted) norm += std::fabs(v);
  EXPECT_GT(norm, 0.f);
}

TEST(SequenceClassificationHead, RejectsBadShapesAndTasks) {
  Rng rng(10);
  auto head = make_head(Options(), head_ctx(rng));
  Tensor states = Tensor::zeros({kN, kB, kL, kHidden});
  EXPECT_THROW(head->forward(Tensor::zeros({kN + 1, kB, kL, kHidden}), some_targets()), std::invalid_argument);
  EXPECT_THROW(head->forward(Tensor::zeros({kN, kB, kL, kHidden + 1}), some_targets()), std::invalid_argument);
  EXPECT_THROW(head->forward(states, Tensor::from_ints({0, 1, 2}, {kN, 1})), std::invalid_argument);
  EXPECT_THROW(head->forward(states, Tensor::zeros({kN, kB})), std::invalid_argument);  // f32 labels
  BuildContext no_classes = head_ctx(rng);
  no_classes.num_classes = 0;
  EXPECT_THROW(make_head(Options(), no_classes), InputError);
  Options bad;
  bad.set("pooling", std::string("max"));
  EXPECT_THROW(make_head(bad, head_ctx(rng)), InputError);
}

TEST(SequenceClassificationHead, GradientsMatchFiniteDifferences) {
  for (bool per_instance : {false, true}) {
    Rng rng(11);
    Options o;
    o.set("pooling", std::string("mean"));
    o.set("per_instance_hidden", per_instance);
    auto head = make_head(o, head_ctx(rng));
    auto p = datamux::testing::parameter_map(*head);
    Rng data(12);
    Tensor states = Tensor::randn({kN, kB, kL, kHidden}, data).set_requires_grad();
    expect_gradients_match([&] { return head->forward(states, some_targets()).loss; },
                           {states, p.at("dense.weight"), p.at("dense.bias"), p.at("classifier.weight")});
  }
}
