// mux "random_ortho", loaded through the registry: Q^T Q = I to 1e-5, distinct matrices per instance,
// seeds, the sum_i O_i x_i / sqrt(N) formula, norm preservation, fixed matrices get no gradient,
// shape errors and finite-difference gradients.
#include <gmock/gmock.h>

#include <cmath>
#include <gradcheck.hpp>

#include "../../testing/plugin_test_util.hpp"

using namespace datamux;
using namespace datamux::testing;
using ::testing::HasSubstr;

namespace {

/// Largest |(Q^T Q - I)[r][c]| over instance i's matrix.
double orthogonality_error(const Tensor& m, int64_t i) {
  const int64_t d = m.size(1);
  const std::vector<float> q = m.select(0, i).contiguous().to_vector();
  double worst = 0.0;
  for (int64_t r = 0; r < d; ++r)
    for (int64_t c = 0; c < d; ++c) {
      double s = 0.0;
      for (int64_t k = 0; k < d; ++k) s += static_cast<double>(q[k * d + r]) * q[k * d + c];
      worst = std::max(worst, std::fabs(s - (r == c ? 1.0 : 0.0)));
    }
  return worst;
}

}  // namespace

TEST(RandomOrthoMux, MatricesAreOrthogonalTo1e5) {
  for (int64_t d : {5, 32, 128}) {
    auto mux = make_mux("random_ortho", sequence_context(3, d));
    const Tensor m = buffer(*mux, "matrices");
    ASSERT_EQ(m.shape(), (Shape{3, d, d}));
    for (int64_t i = 0; i < 3; ++i) EXPECT_LT(orthogonality_error(m, i), 1e-5) << "d " << d << " instance " << i;
    EXPECT_GT(max_abs_diff(m.select(0, 0), m.select(0, 1)), 0.1f) << "instances must get different matrices";
  }
}

TEST(RandomOrthoMux, MatricesAreNotBiasedTowardsTheIdentity) {
  // Haar matrices have E[trace] = 0 (E[Q_kk] = 0); Gram-Schmidt without the sign convention or a
  // near-identity construction would not.
  auto mux = make_mux("random_ortho", vector_context(16, 64));
  const Tensor m = buffer(*mux, "matrices");
  double trace = 0.0;
  for (int64_t i = 0; i < 16; ++i)
    for (int64_t k = 0; k < 64; ++k) trace += m.at({i, k, k});
  EXPECT_LT(std::fabs(trace / 16.0), 3.0);
}

TEST(RandomOrthoMux, SeedDeterminesMatrices) {
  Options s;
  s.set("seed", int64_t{42});
  const Tensor a = buffer(*make_mux("random_ortho", vector_context(2, 8, 1), s), "matrices");
  const Tensor b = buffer(*make_mux("random_ortho", vector_context(2, 8, 2), s), "matrices");
  const Tensor c = buffer(*make_mux("random_ortho", vector_context(2, 8, 2)), "matrices");
  EXPECT_EQ(max_abs_diff(a, b), 0.f);
  EXPECT_GT(max_abs_diff(a, c), 1e-3f);
}

TEST(RandomOrthoMux, MatchesFormulaOnHandMadeInput) {
  auto mux = make_mux("random_ortho", sequence_context(2, 3));
  const Tensor m = buffer(*mux, "matrices");
  // x: [N=2, B=1, L=2, d=3]
  const Tensor x = Tensor::from_vector({1, 2, 3, -1, 0, 2, 4, 5, 6, 0.5f, -3, 1}, {2, 1, 2, 3});
  const Tensor y = mux->forward(x);
  ASSERT_EQ(y.shape(), (Shape{1, 2, 3}));
  for (int64_t t = 0; t < 2; ++t)
    for (int64_t r = 0; r < 3; ++r) {
      float expected = 0.f;
      for (int64_t i = 0; i < 2; ++i)
        for (int64_t c = 0; c < 3; ++c) expected += m.at({i, r, c}) * x.at({i, 0, t, c});
      EXPECT_NEAR(y.at({0, t, r}), expected / std::sqrt(2.f), 1e-5f) << "t " << t << " r " << r;
    }
}

TEST(RandomOrthoMux, OneInstanceKeepsTheNorm) {
  auto mux = make_mux("random_ortho", vector_context(1, 16));
  Rng rng(3);
  const Tensor x = Tensor::randn({1, 4, 16}, rng);
  const Tensor y = mux->forward(x);
  for (int64_t b = 0; b < 4; ++b) {
    double nx = 0.0, ny = 0.0;
    for (int64_t k = 0; k < 16; ++k) {
      nx += x.at({0, b, k}) * x.at({0, b, k});
      ny += y.at({b, k}) * y.at({b, k});
    }
    EXPECT_NEAR(ny, nx, 1e-4 * nx);
  }
}

TEST(RandomOrthoMux, FixedMatricesGetNoGradientAndTrainableOnesDo) {
  auto fixed = make_mux("random_ortho", sequence_context(2, 4));
  EXPECT_TRUE(fixed->named_parameters().empty());
  const Tensor x = random_leaf({2, 1, 3, 4}, 2);
  weighted_sum(fixed->forward(x)).backward();
  EXPECT_TRUE(x.grad().defined());
  EXPECT_FALSE(buffer(*fixed, "matrices").grad().defined());

  Options o;
  o.set("trainable", true);
  auto trained = make_mux("random_ortho", sequence_context(2, 4), o);
  weighted_sum(trained->forward(x)).backward();
  EXPECT_TRUE(param(*trained, "matrices").grad().defined());
}

TEST(RandomOrthoMux, SameInputInDifferentSlotsGivesDifferentOutputs) {
  auto mux = make_mux("random_ortho", vector_context(3, 8));
  Rng rng(1);
  const Tensor one = Tensor::randn({2, 8}, rng);
  EXPECT_GT(max_abs_diff(mux->forward(in_slot(one, 3, 0)), mux->forward(in_slot(one, 3, 1))), 1e-3f);
  EXPECT_GT(max_abs_diff(mux->forward(in_slot(one, 3, 1)), mux->forward(in_slot(one, 3, 2))), 1e-3f);
}

TEST(RandomOrthoMux, RejectsInputOfTheWrongShape) {
  auto mux = make_mux("random_ortho", sequence_context(2, 8));
  try {
    mux->forward(Tensor::zeros({2, 3, 4, 7}));
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), HasSubstr("random_ortho mux: expected [N=2, B, ..., d=8], got [2, 3, 4, 7]"));
  }
}

TEST(RandomOrthoMux, TrainableMatricesStartOrthogonalAndMatchFiniteDifferences) {
  // trainable = true is what the former `learned_ortho` mux was: the same initial matrices, then trained.
  Options o;
  o.set("seed", int64_t{3});
  auto fixed = make_mux("random_ortho", vector_context(2, 6), o);
  o.set("trainable", true);
  auto trained = make_mux("random_ortho", vector_context(2, 6), o);
  EXPECT_EQ(parameter_names(*trained), std::vector<std::string>{"matrices"});
  EXPECT_EQ(max_abs_diff(param(*trained, "matrices"), buffer(*fixed, "matrices")), 0.f);
  const Tensor x = random_leaf({2, 2, 6}, 9);
  expect_gradients_match([&] { return weighted_sum(trained->forward(x)); }, {x, param(*trained, "matrices")});
}

TEST(RandomOrthoMux, GradientsMatchFiniteDifferences) {
  auto mux = make_mux("random_ortho", sequence_context(3, 5));
  const Tensor x = random_leaf({3, 2, 2, 5}, 9);
  expect_gradients_match([&] { return weighted_sum(mux->forward(x)); }, {x});
}
