// head "token_classification", loaded through the registry: logits and loss against a naive reference,
// ignored tokens (-100) really ignored, shapes in train and eval mode, errors, gradients.
#include <cmath>
#include <datamux/registry.hpp>
#include <gradcheck.hpp>

#include "../../testing/plugin_test_util.hpp"
#include <map>

using namespace datamux;
using datamux::testing::expect_close;
using datamux::testing::expect_gradients_match;

namespace {

constexpr int64_t kN = 2, kB = 2, kL = 3, kHidden = 4, kClasses = 5;

BuildContext head_ctx(Rng& rng) {
  BuildContext ctx;
  ctx.instances = kN;
  ctx.hidden = kHidden;
  ctx.seq_len = kL;
  ctx.num_classes = kClasses;
  ctx.seed = 31;
  ctx.rng = &rng;
  return ctx;
}

std::shared_ptr<Head> make_head(const Options& o, const BuildContext& ctx) {
  return datamux::testing::plugin_registry().create<Head>("token_classification", o, ctx, "[head]");
}

// Targets [N, B, L]: instance 1's second row ends in padding, one token of instance 0 is a continuation.
Tensor tag_targets() { return Tensor::from_ints({0, 4, 2, 1, -100, 3, 2, 2, 0, 1, -100, -100}, {kN, kB, kL}); }

}  // namespace

TEST(TokenClassificationHead, MatchesNaiveReference) {
  Rng rng(1);
  auto head = make_head(Options(), head_ctx(rng));
  auto p = datamux::testing::parameter_map(*head);
  std::vector<float> w = p.at("classifier.weight").to_vector(), bias = p.at("classifier.bias").to_vector();
  Rng data(2);
  Tensor states = Tensor::randn({kN, kB, kL, kHidden}, data);
  std::vector<float> s = states.to_vector(), expected;
  std::vector<int32_t> targets = tag_targets().to_ints();
  double total = 0;
  int counted = 0;
  for (int64_t r = 0; r < kN * kB * kL; ++r) {
    std::vector<double> logits(kClasses);
    double mx = -1e300, z = 0;
    for (int64_t c = 0; c < kClasses; ++c) {
      double v = bias[c];
      for (int64_t d = 0; d < kHidden; ++d) v += w[c * kHidden + d] * s[r * kHidden + d];
      logits[c] = v;
      expected.push_back(static_cast<float>(v));
      mx = std::max(mx, v);
    }
    for (double v : logits) z += std::exp(v - mx);
    if (targets[r] != -100) total += std::log(z) + mx - logits[targets[r]], ++counted;
  }
  for (bool training : {true, false}) {
    head->train(training);
    HeadOutput out = head->forward(states, tag_targets());
    ASSERT_EQ(out.logits.shape(), (Shape{kN, kB, kL, kClasses}));
    ASSERT_EQ(out.targets.shape(), (Shape{kN, kB, kL}));
    expect_close(out.logits, Tensor::from_vector(expected, {kN, kB, kL, kClasses}), 1e-5f, 1e-4f);
    EXPECT_NEAR(out.loss.item(), total / counted, 1e-5);
  }
}

TEST(TokenClassificationHead, IgnoredTokensReceiveNoGradientAndDoNotMoveTheLoss) {
  Rng rng(3);
  auto head = make_head(Options(), head_ctx(rng));
  Rng data(4);
  Tensor states = Tensor::randn({kN, kB, kL, kHidden}, data).set_requires_grad();
  HeadOutput out = head->forward(states, tag_targets());
  out.loss.backward();
  std::vector<int32_t> targets = tag_targets().to_ints();
  std::vector<float> g = states.grad().to_vector();
  for (int64_t r = 0; r < kN * kB * kL; ++r) {
    float norm = 0.f;
    for (int64_t d = 0; d < kHidden; ++d) norm += std::fabs(g[r * kHidden + d]);
    if (targets[r] == -100) {
      EXPECT_EQ(norm, 0.f) << "ignored token " << r;
    } else {
      EXPECT_GT(norm, 0.f) << "counted token " << r;
    }
  }
  Tensor changed = states.detach().clone();
  changed.select(0, 1).select(0, 1).slice(0, 1, 3).fill_(9.f);  // instance 1, row 1, positions 1-2: ignored
  EXPECT_FLOAT_EQ(head->forward(changed, tag_targets()).loss.item(), out.loss.item());
}

TEST(TokenClassificationHead, RejectsBadShapesAndTasks) {
  Rng rng(5);
  auto head = make_head(Options(), head_ctx(rng));
  EXPECT_THROW(head->forward(Tensor::zeros({kN, kB, kHidden}), Tensor::from_ints({0, 1, 0, 1}, {kN, kB})),
               std::invalid_argument);
  EXPECT_THROW(head->forward(Tensor::zeros({kN, kB, kL, kHidden}), Tensor::from_ints({0, 1, 0, 1}, {kN, kB})),
               std::invalid_argument);
  EXPECT_THROW(head->forward(Tensor::zeros({kN + 1, kB, kL, kHidden}), tag_targets()), std::invalid_argument);
  BuildContext no_classes = head_ctx(rng);
  no_classes.num_classes = 0;
  EXPECT_THROW(make_head(Options(), no_classes), InputError);
}

TEST(TokenClassificationHead, DropoutOnlyInTraining) {
  Rng rng(6);
  Options o;
  o.set("dropout", 0.5);
  auto head = make_head(o, head_ctx(rng));
  Rng data(7);
  Tensor states = Tensor::randn({kN, kB, kL, kHidden}, data);
  head->eval();
  const float eval_a = head->forward(states, tag_targets()).loss.item();
  EXPECT_FLOAT_EQ(head->forward(states, tag_targets()).loss.item(), eval_a);
  head->train();
  EXPECT_NE(head->forward(states, tag_targets()).loss.item(), eval_a);
}

TEST(TokenClassificationHead, GradientsMatchFiniteDifferences) {
  Rng rng(8);
  auto head = make_head(Options(), head_ctx(rng));
  auto p = datamux::testing::parameter_map(*head);
  Rng data(9);
  Tensor states = Tensor::randn({kN, kB, kL, kHidden}, data).set_requires_grad();
  expect_gradients_match([&] { return head->forward(states, tag_targets()).loss; },
                         {states, p.at("classifier.weight"), p.at("classifier.bias")});
}
