// The vectorised exact GELU against std::erf, across the range and at the extremes.
#include <datamux/ops.hpp>
#include <gradcheck.hpp>

#include <cmath>

using namespace datamux;

TEST(OpsGelu, MatchesTheErfFormAcrossTheRange) {
  std::vector<float> xs;
  for (int i = -4000; i <= 4000; ++i) xs.push_back(static_cast<float>(i) * 0.0025f);  // [-10, 10], several chunks
  xs.insert(xs.end(), {-100.f, -30.f, 30.f, 100.f, 0.f, -0.f});
  Tensor x = Tensor::from_vector(xs, {static_cast<int64_t>(xs.size())});
  std::vector<float> y = ops::gelu(x).to_vector();
  for (std::size_t i = 0; i < xs.size(); ++i) {
    const double v = xs[i];
    const double ref = 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0)));
    ASSERT_NEAR(y[i], ref, 1e-6 + 1e-6 * std::fabs(ref)) << "x = " << v;
  }
}

TEST(OpsGelu, GradientMatchesTheClosedForm) {
  std::vector<float> xs;
  for (int i = -300; i <= 300; ++i) xs.push_back(static_cast<float>(i) * 0.02f);
  Tensor x = Tensor::from_vector(xs, {static_cast<int64_t>(xs.size())}).set_requires_grad();
  ops::sum(ops::gelu(x)).backward();
  std::vector<float> g = x.grad().to_vector();
  for (std::size_t i = 0; i < xs.size(); ++i) {
    const double v = xs[i];
    const double ref = 0.5 * (1.0 + std::erf(v / std::sqrt(2.0))) + v * std::exp(-0.5 * v * v) / std::sqrt(2.0 * M_PI);
    ASSERT_NEAR(g[i], ref, 2e-6) << "x = " << v;
  }
}

TEST(OpsGelu, FiniteDifferencesOnAStridedView) {
  Rng rng(5);
  Tensor a = Tensor::randn({6, 5}, rng).set_requires_grad();
  datamux::testing::expect_gradients_match([&] { return datamux::testing::weighted_sum(ops::gelu(a.transpose(0, 1))); }, {a});
}
