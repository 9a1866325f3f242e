// cross_entropy: values against hand-computed ones (plain, ignore_index, label smoothing), gradients
// against finite differences and the closed form, and target validation.
#include <datamux/ops.hpp>
#include <gradcheck.hpp>

#include <cmath>
#include <stdexcept>
#include <string>

using namespace datamux;
using namespace datamux::testing;

namespace {

// Literal values below are log-sum-exps worked out by hand:
//   lse(1, 2, 3) = 3 + log(1 + e^-1 + e^-2) = 3.4076059644
//   lse(0, 0)    = log 2                    = 0.6931471806
//   lse(1, 1, 1) = 1 + log 3                = 2.0986122887
constexpr float kLse123 = 3.4076059644f;

TEST(CrossEntropy, MatchesHandComputedValues) {
  Tensor logits = Tensor::from_vector({1, 2, 3, 1, 1, 1}, {2, 3});
  // row 0, target 2: 3.4076 - 3 = 0.4076;  row 1, target 0: log 3 = 1.0986;  mean 0.7531091
  EXPECT_NEAR(ops::cross_entropy(logits, Tensor::from_ints({2, 0}, {2})).item(), 0.7531091f, 1e-6f);
  EXPECT_NEAR(ops::cross_entropy(Tensor::zeros({1, 2}), Tensor::from_ints({1}, {1})).item(), 0.6931472f, 1e-6f);
}

TEST(CrossEntropy, LabelSmoothingAsPyTorchDefinesIt) {
  // (1 - eps) * nll + eps * mean_j(-logp_j), eps = 0.1, logits (1, 2, 3), target 0:
  //   nll = 3.4076 - 1 = 2.4076;  mean_j(-logp_j) = 3.4076 - 2 = 1.4076;  0.9 * 2.4076 + 0.1 * 1.4076 = 2.3076060
  Tensor logits = Tensor::from_vector({1, 2, 3}, {1, 3});
  EXPECT_NEAR(ops::cross_entropy(logits, Tensor::from_ints({0}, {1}), -100, 0.1f).item(), 2.3076060f, 1e-6f);
  // eps = 1: the target no longer matters, only the mean over classes.
  EXPECT_NEAR(ops::cross_entropy(logits, Tensor::from_ints({2}, {1}), -100, 1.f).item(), kLse123 - 2.f, 1e-6f);
}

TEST(CrossEntropy, IgnoredRowsDoNotCountInSumOrMean) {
  // Rows 1 and 3 are ignored (even with huge logits): loss = mean of rows 0 and 2 only.
  Tensor logits = Tensor::from_vector({1, 2, 3, 50, -50, 9, 1, 1, 1, -7, 7, 0}, {4, 3});
  Tensor targets = Tensor::from_ints({2, -100, 0, -100}, {4});
  const float want = ((kLse123 - 3.f) + std::log(3.f)) / 2.f;
  EXPECT_NEAR(ops::cross_entropy(logits, targets).item(), want, 1e-6f);
  // With smoothing: each counted row is 0.8 * nll + 0.2 * (lse - mean(x)); row 2's two terms are both log 3.
  const float want_s = ((0.8f * (kLse123 - 3.f) + 0.2f * (kLse123 - 2.f)) + std::log(3.f)) / 2.f;
  EXPECT_NEAR(ops::cross_entropy(logits, targets, -100, 0.2f).item(), want_s, 1e-6f);
  // A custom ignore_index: class 1 rows are skipped, -100 is now an invalid target.
  Tensor t2 = Tensor::from_ints({2, 1, 0, 1}, {4});
  EXPECT_NEAR(ops::cross_entropy(logits, t2, 1).item(), want, 1e-6f);
}

TEST(CrossEntropy, AllRowsIgnoredGivesZeroLossAndZeroGradient) {
  Tensor logits = Tensor::from_vector({1, 2, 3, 4}, {2, 2}).set_requires_grad();
  Tensor loss = ops::cross_entropy(logits, Tensor::from_ints({-100, -100}, {2}));
  EXPECT_FLOAT_EQ(loss.item(), 0.f);
  loss.backward();
  EXPECT_EQ(logits.grad().to_vector(), (std::vector<float>{0, 0, 0, 0}));
}

TEST(CrossEntropy, GradientIsSoftmaxMinusTargetDistributionOverCount) {
  Tensor logits = Tensor::from_vector({1, 2, 3, 0, 0, 0, 5, 5, 5}, {3, 3}).set_requires_grad();
  Tensor targets = Tensor::from_ints({0, -100, 1}, {3});
  const float eps = 0.3f;
  ops::cross_entropy(logits, targets, -100, eps).backward();
  std::vector<float> g = logits.grad().to_vector();
  const float e1 = std::exp(1.f - kLse123), e2 = std::exp(2.f - kLse123), e3 = std::exp(3.f - kLse123);
  const float off = eps / 3.f, on = 1.f - eps + off;
  const std::vector<float> want = {(e1 - on) / 2, (e2 - off) / 2, (e3 - off) / 2, 0, 0, 0,
                                   (1.f / 3 - off) / 2, (1.f / 3 - on) / 2, (1.f / 3 - off) / 2};
  for (std::size_t i = 0; i < g.size(); ++i) EXPECT_NEAR(g[i], want[i], 1e-6f) << i;
}

TEST(CrossEntropy, GradcheckWithIgnoreSmoothingAndTransposedLogits) {
  Rng rng(5);
  Tensor lt = Tensor::randn({4, 6}, rng).set_requires_grad();  // [C, M]; logits are its transpose
  Tensor targets = Tensor::from_ints({3, -100, 0, 2, 3, 1}, {6});
  for (float eps : {0.f, 0.25f}) {
    expect_gradients_match([&] { return ops::mul(ops::cross_entropy(lt.transpose(0, 1), targets, -100, eps), 3.f); },
                           {lt});
  }
}

TEST(CrossEntropy, MatchesComposedLogSoftmaxOnALargeBatch) {
  // Large enough for the OpenMP path; reference built from log_softmax, mul and sum.
  Rng rng(6);
  const int64_t m = 256, c = 100;
  const float eps = 0.1f;
  Tensor x = Tensor::randn({m, c}, rng, 0.f, 3.f).set_requires_grad();
  std::vector<int32_t> t(m);
  std::vector<float> dist(static_cast<std::size_t>(m * c), 0.f);
  int64_t count = 0;
  for (int64_t i = 0; i < m; ++i) {
    t[i] = i % 7 == 0 ? -100 : static_cast<int32_t>(rng.randint(0, c));
    if (t[i] < 0) continue;
    ++count;
    for (int64_t j = 0; j < c; ++j) dist[i * c + j] = eps / c + (j == t[i] ? 1.f - eps : 0.f);
  }
  Tensor loss = ops::cross_entropy(x, Tensor::from_ints(t, {m}), -100, eps);
  loss.backward();
  Tensor g1 = x.grad();
  x.zero_grad();
  Tensor ref = ops::mul(ops::sum(ops::mul(ops::log_softmax(x, 1), Tensor::from_vector(dist, {m, c}))),
                        -1.f / static_cast<float>(count));
  ref.backward();
  EXPECT_NEAR(loss.item(), ref.item(), 1e-5f * ref.item());
  expect_close(g1, x.grad(), 1e-7f, 1e-4f);
}

TEST(CrossEntropy, OutOfRangeTargetThrowsNamingTheValue) {
  Tensor logits = Tensor::zeros({3, 4});
  for (int32_t bad : {4, -1, 99}) {
    try {
      ops::cross_entropy(logits, Tensor::from_ints({0, bad, 1}, {3}));
      FAIL() << "expected std::invalid_argument for target " << bad;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("target " + std::to_string(bad)), std::string::npos) << e.what();
    }
  }
}

TEST(CrossEntropy, BadShapesAndArgumentsThrow) {
  EXPECT_THROW(ops::cross_entropy(Tensor::zeros({3}), Tensor::from_ints({0}, {1})), std::invalid_argument);
  EXPECT_THROW(ops::cross_entropy(Tensor::zeros({2, 3}), Tensor::from_ints({0}, {1})), std::invalid_argument);
  EXPECT_THROW(ops::cross_entropy(Tensor::zeros({1, 3}), Tensor::ones({1})), std::invalid_argument);
  EXPECT_THROW(ops::cross_entropy(Tensor::zeros({1, 3}), Tensor::from_ints({0}, {1}), -100, 1.5f),
               std::invalid_argument);
}

}  // namespace
