// mux "random_ortho_low_rank", loaded through the registry: the matrices G_i = U_i H_i^T are partial
// isometries onto mutually orthogonal d/N-dimensional subspaces (G_i G_j^T = 0, G_i^T G_j = 0,
// G_i G_i^T a rank-d/N projector, sum_i G_i orthogonal when N divides d), the rotations have det +1,
// each instance is recovered exactly from the mixture by G_i^T, the sum / sqrt(N) formula on a
// hand-made input, seeds, refusals, trainable matrices and finite-difference gradients.
#include <gmock/gmock.h>

#include <cmath>
#include <gradcheck.hpp>

#include "../../testing/plugin_test_util.hpp"
#include "../common/codes.hpp"

using namespace datamux;
using namespace datamux::testing;
using ::testing::HasSubstr;

namespace {

/// (A B^T) or (A^T B) entry of two [d, d] slices of the buffer, in double.
double product(const Tensor& m, int64_t i, int64_t j, int64_t r, int64_t c, bool transpose_first) {
  double s = 0.0;
  for (int64_t k = 0; k < m.size(1); ++k)
    s += transpose_first ? static_cast<double>(m.at({i, k, r})) * m.at({j, k, c})
                         : static_cast<double>(m.at({i, r, k})) * m.at({j, c, k});
  return s;
}

}  // namespace

TEST(RandomOrthoLowRankMux, InstancesGetOrthogonalSubspacesOfRankDOverN) {
  const int64_t n = 3, d = 7, block = d / n;  // d mod N = 1 column unused, as in the reference
  auto mux = make_mux("random_ortho_low_rank", vector_context(n, d));
  const Tensor m = buffer(*mux, "matrices");
  ASSERT_EQ(m.shape(), (Shape{n, d, d}));
  for (int64_t i = 0; i < n; ++i) {
    double trace = 0.0;
    for (int64_t j = 0; j < n; ++j)
      for (int64_t r = 0; r < d; ++r)
        for (int64_t c = 0; c < d; ++c) {
          const double gg = product(m, i, j, r, c, false);  // (G_i G_j^T)[r][c]
          const double tg = product(m, i, j, r, c, true);   // (G_i^T G_j)[r][c]
          if (i != j) {
            EXPECT_NEAR(gg, 0.0, 1e-5) << i << " " << j;
            EXPECT_NEAR(tg, 0.0, 1e-5) << i << " " << j;
          } else if (r == c) {
            trace += gg;
          }
          if (i == j) {  // G_i G_i^T is a projector: (G G^T)^2 = G G^T
            double sq = 0.0;
            for (int64_t k = 0; k < d; ++k) sq += product(m, i, i, r, k, false) * product(m, i, i, k, c, false);
            EXPECT_NEAR(sq, gg, 1e-5);
          }
        }
    EXPECT_NEAR(trace, static_cast<double>(block), 1e-5) << "rank of instance " << i;
  }
}

TEST(RandomOrthoLowRankMux, SumOfTheBlocksIsARotationWhenNDividesD) {
  auto mux = make_mux("random_ortho_low_rank", vector_context(4, 8));
  const Tensor m = buffer(*mux, "matrices");
  const Tensor s = ops::sum(m, {0});  // U H^T
  for (int64_t r = 0; r < 8; ++r)
    for (int64_t c = 0; c < 8; ++c) {
      double dot = 0.0;
      for (int64_t k = 0; k < 8; ++k) dot += static_cast<double>(s.at({k, r})) * s.at({k, c});
      EXPECT_NEAR(dot, r == c ? 1.0 : 0.0, 1e-5);
    }
}

TEST(RandomOrthoLowRankMux, RotationsHaveDeterminantPlusOne) {
  // special_ortho_group in the reference: the sign fix must make det = +1 for every draw.
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    Rng rng(seed);
    const std::vector<float> q = plugin_util::haar_special_orthogonal(3, rng);
    const double det = q[0] * (q[4] * q[8] - q[5] * q[7]) - q[1] * (q[3] * q[8] - q[5] * q[6]) +
                       q[2] * (q[3] * q[7] - q[4] * q[6]);
    EXPECT_NEAR(det, 1.0, 1e-5) << "seed " << seed;
  }
  EXPECT_EQ(plugin_util::determinant_sign({0, 1, 1, 0}, 2), -1);
  EXPECT_EQ(plugin_util::determinant_sign({2, 1, 1, 3}, 2), 1);
  EXPECT_EQ(plugin_util::determinant_sign({1, 2, 2, 4}, 2), 0);
}

TEST(RandomOrthoLowRankMux, MatchesFormulaOnHandMadeInput) {
  auto mux = make_mux("random_ortho_low_rank", sequence_context(2, 4));
  const Tensor m = buffer(*mux, "matrices");
  const Tensor x = Tensor::from_vector({1, 2, 3, 4, -1, 0, 2, 1, 4, 5, 6, 0.5f, -3, 1, 2, -2}, {2, 1, 2, 4});
  const Tensor y = mux->forward(x);
  ASSERT_EQ(y.shape(), (Shape{1, 2, 4}));
  for (int64_t t = 0; t < 2; ++t)
    for (int64_t r = 0; r < 4; ++r) {
      float expected = 0.f;
      for (int64_t i = 0; i < 2; ++i)
        for (int64_t c = 0; c < 4; ++c) expected += m.at({i, r, c}) * x.at({i, 0, t, c});
      EXPECT_NEAR(y.at({0, t, r}), expected / std::sqrt(2.f), 1e-5f) << "t " << t << " r " << r;
    }
}

TEST(RandomOrthoLowRankMux, EachInstanceIsRecoveredFromTheMixture) {
  // G_i^T mux(x) sqrt(N) = G_i^T G_i x_i: the other instances vanish, whatever they hold.
  const int64_t n = 3, d = 9;
  auto mux = make_mux("random_ortho_low_rank", vector_context(n, d));
  const Tensor m = buffer(*mux, "matrices");
  Rng rng(5);
  const Tensor x = Tensor::randn({n, 2, d}, rng);
  const Tensor y = mux->forward(x);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t b = 0; b < 2; ++b)
      for (int64_t c = 0; c < d; ++c) {
        double recovered = 0.0, alone = 0.0;
        for (int64_t r = 0; r < d; ++r) {
          recovered += m.at({i, r, c}) * y.at({b, r}) * std::sqrt(static_cast<double>(n));
          double gx = 0.0;
          for (int64_t k = 0; k < d; ++k) gx += m.at({i, r, k}) * x.at({i, b, k});
          alone += m.at({i, r, c}) * gx;
        }
        EXPECT_NEAR(recovered, alone, 1e-4);
      }
}

TEST(RandomOrthoLowRankMux, SeedDeterminesMatrices) {
  Options s;
  s.set("seed", int64_t{42});
  const Tensor a = buffer(*make_mux("random_ortho_low_rank", vector_context(2, 8, 1), s), "matrices");
  const Tensor b = buffer(*make_mux("random_ortho_low_rank", vector_context(2, 8, 2), s), "matrices");
  const Tensor c = buffer(*make_mux("random_ortho_low_rank", vector_context(2, 8, 2)), "matrices");
  EXPECT_EQ(max_abs_diff(a, b), 0.f);
  EXPECT_GT(max_abs_diff(a, c), 1e-3f);
}

TEST(RandomOrthoLowRankMux, RefusesMoreInstancesThanDimensions) {
  try {
    make_mux("random_ortho_low_rank", vector_context(5, 4));
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr("d = 4 < N = 5"));
  }
  auto mux = make_mux("random_ortho_low_rank", sequence_context(2, 8));
  EXPECT_THROW(mux->forward(Tensor::zeros({2, 3, 4, 7})), std::invalid_argument);
}

TEST(RandomOrthoLowRankMux, TrainableMatricesStartAsTheFixedOnesAndMatchFiniteDifferences) {
  Options o;
  o.set("seed", int64_t{3});
  auto fixed = make_mux("random_ortho_low_rank", vector_context(2, 6), o);
  EXPECT_TRUE(fixed->named_parameters().empty());
  o.set("trainable", true);
  auto trained = make_mux("random_ortho_low_rank", vector_context(2, 6), o);
  EXPECT_EQ(max_abs_diff(param(*trained, "matrices"), buffer(*fixed, "matrices")), 0.f);
  const Tensor x = random_leaf({2, 2, 6}, 9);
  expect_gradients_match([&] { return weighted_sum(trained->forward(x)); }, {x, param(*trained, "matrices")});
}
