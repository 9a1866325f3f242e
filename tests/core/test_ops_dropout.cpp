// dropout: identity outside training, inverted scaling, keep rate, determinism for a seed, gradient
// through the kept mask.
#include <datamux/ops.hpp>
#include <gradcheck.hpp>

#include <cmath>
#include <stdexcept>

using namespace datamux;
using namespace datamux::testing;

namespace {

TEST(Dropout, IdentityWhenNotTrainingOrPZero) {
  Rng rng(1);
  Tensor x = Tensor::randn({4, 5}, rng);
  EXPECT_TRUE(ops::dropout(x, 0.5f, false, rng).same(x));
  EXPECT_TRUE(ops::dropout(x, 0.f, true, rng).same(x));
}

TEST(Dropout, SurvivorsAreScaledAndKeepRateIsOneMinusP) {
  Rng rng(2);
  const int64_t n = 200000;
  const float p = 0.3f;
  Tensor x = Tensor::uniform({n}, rng, 1.f, 2.f);
  Tensor y = ops::dropout(x, p, true, rng);
  std::vector<float> xv = x.to_vector(), yv = y.to_vector();
  int64_t kept = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (yv[i] == 0.f) continue;
    ++kept;
    ASSERT_FLOAT_EQ(yv[i], xv[i] / (1.f - p)) << i;
  }
  // Binomial(200000, 0.7): standard deviation ~205; allow 5 sigma.
  EXPECT_NEAR(static_cast<double>(kept), 0.7 * n, 1025.0);
}

TEST(Dropout, SameSeedSameMaskAndTheRngAdvances) {
  Tensor x = Tensor::ones({64, 64});
  Rng a(7), b(7), c(8);
  std::vector<float> ya = ops::dropout(x, 0.5f, true, a).to_vector();
  EXPECT_EQ(ya, ops::dropout(x, 0.5f, true, b).to_vector());
  EXPECT_NE(ya, ops::dropout(x, 0.5f, true, c).to_vector());
  EXPECT_NE(ya, ops::dropout(x, 0.5f, true, a).to_vector()) << "a second call must draw a new mask";
}

TEST(Dropout, MaskDoesNotDependOnTheThreadCountPath) {
  // The same seed gives the same mask prefix for a small (serial) and a large (parallel) tensor.
  Rng a(9), b(9);
  std::vector<float> small = ops::dropout(Tensor::ones({100}), 0.4f, true, a).to_vector();
  std::vector<float> large = ops::dropout(Tensor::ones({100000}), 0.4f, true, b).to_vector();
  EXPECT_TRUE(std::equal(small.begin(), small.end(), large.begin()));
}

TEST(Dropout, GradientUsesTheForwardMask) {
  Rng rng(3);
  Tensor x = Tensor::randn({6, 5}, rng).set_requires_grad();
  // A fresh Rng with the same seed per evaluation: finite differences see the same mask.
  expect_gradients_match([&] {
    Rng r(42);
    return weighted_sum(ops::dropout(x.transpose(0, 1), 0.4f, true, r));
  }, {x});
  // And the gradient is exactly mask / (1 - p): zero where the output is zero.
  x.zero_grad();
  Rng r(5);
  Tensor y = ops::dropout(x, 0.25f, true, r);
  ops::sum(y).backward();
  std::vector<float> yv = y.to_vector(), gv = x.grad().to_vector();
  for (std::size_t i = 0; i < yv.size(); ++i) EXPECT_FLOAT_EQ(gv[i], yv[i] == 0.f ? 0.f : 1.f / 0.75f);
}

TEST(Dropout, PEqualOneZeroesEverything) {
  Rng rng(4);
  Tensor x = Tensor::ones({3, 3}).set_requires_grad();
  Tensor y = ops::dropout(x, 1.f, true, rng);
  EXPECT_EQ(y.to_vector(), std::vector<float>(9, 0.f));
  ops::sum(y).backward();
  EXPECT_EQ(x.grad().to_vector(), std::vector<float>(9, 0.f));
}

TEST(Dropout, ProbabilityOutOfRangeThrows) {
  Rng rng(5);
  EXPECT_THROW(ops::dropout(Tensor::ones({2}), -0.1f, true, rng), std::invalid_argument);
  EXPECT_THROW(ops::dropout(Tensor::ones({2}), 1.5f, true, rng), std::invalid_argument);
  EXPECT_THROW(ops::dropout(Tensor::ones({2}), NAN, true, rng), std::invalid_argument);
}

}  // namespace
