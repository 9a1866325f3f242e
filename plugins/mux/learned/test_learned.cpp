// mux "learned", loaded through the registry: codes are parameters initialised as the gaussian mux's,
// the formula, gradients reaching the codes and the input (finite differences), training moves codes.
#include <gmock/gmock.h>

#include <cmath>
#include <gradcheck.hpp>

#include "../../testing/plugin_test_util.hpp"

using namespace datamux;
using namespace datamux::testing;

TEST(LearnedMux, CodesAreParametersInitialisedAsTheGaussianMux) {
  Options o;
  o.set("norm", 3.0);
  o.set("seed", int64_t{11});
  auto learned = make_mux("learned", sequence_context(3, 8), o);
  auto gaussian = make_mux("gaussian", sequence_context(3, 8), o);
  EXPECT_EQ(parameter_names(*learned), std::vector<std::string>{"codes"});
  EXPECT_TRUE(learned->named_buffers().empty());
  const Tensor codes = param(*learned, "codes");
  EXPECT_TRUE(codes.requires_grad());
  EXPECT_EQ(max_abs_diff(codes, buffer(*gaussian, "codes")), 0.f);
  for (int64_t i = 0; i < 3; ++i) {
    double sq = 0.0;
    for (int64_t k = 0; k < 8; ++k) sq += codes.at({i, k}) * codes.at({i, k});
    EXPECT_NEAR(std::sqrt(sq), 3.0, 1e-4);
  }
}

TEST(LearnedMux, MatchesFormulaOnHandMadeInputAndCodes) {
  auto mux = make_mux("learned", vector_context(2, 3));
  param(*mux, "codes").copy_(Tensor::from_vector({1, 0, 2, -1, 3, 0.5f}, {2, 3}));
  // x: [N=2, B=2, d=3]
  const Tensor x = Tensor::from_vector({1, 2, 3, 4, 5, 6, 10, 20, 30, 40, 50, 60}, {2, 2, 3});
  // row b: (x0 ⊙ v0 + x1 ⊙ v1) / 2
  expect_values(mux->forward(x), {(1 * 1 - 10) / 2.f, (0 + 20 * 3) / 2.f, (3 * 2 + 30 * 0.5f) / 2.f, (4 * 1 - 40) / 2.f,
                                  (0 + 50 * 3) / 2.f, (6 * 2 + 60 * 0.5f) / 2.f});
}

TEST(LearnedMux, GradientReachesCodesAndAStepChangesTheOutput) {
  auto mux = make_mux("learned", sequence_context(2, 4));
  Tensor codes = param(*mux, "codes");
  const Tensor x = random_leaf({2, 2, 3, 4}, 5);
  const Tensor before = mux->forward(x).detach().clone();
  weighted_sum(mux->forward(x)).backward();
  ASSERT_TRUE(codes.grad().defined());
  codes.copy_(ops::sub(codes.detach(), ops::mul(codes.grad(), 0.1f)));
  EXPECT_GT(max_abs_diff(before, mux->forward(x)), 1e-4f);
}

TEST(LearnedMux, GradientsMatchFiniteDifferences) {
  auto mux = make_mux("learned", sequence_context(3, 4));
  const Tensor x = random_leaf({3, 2, 2, 4}, 9);
  expect_gradients_match([&] { return weighted_sum(mux->forward(x)); }, {x, param(*mux, "codes")});
}
