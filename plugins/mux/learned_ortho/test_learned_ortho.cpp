// mux "learned_ortho", loaded through the registry: trainable matrices initialised orthogonal (as
// random_ortho with the same seed), the formula, gradients to matrices and input (finite differences).
#include <cmath>
#include <gradcheck.hpp>

#include "../../testing/plugin_test_util.hpp"

using namespace datamux;
using namespace datamux::testing;

TEST(LearnedOrthoMux, MatricesAreParametersInitialisedAsRandomOrtho) {
  Options o;
  o.set("seed", int64_t{3});
  auto learned = make_mux("learned_ortho", vector_context(2, 6), o);
  auto fixed = make_mux("random_ortho", vector_context(2, 6), o);
  EXPECT_EQ(parameter_names(*learned), std::vector<std::string>{"matrices"});
  EXPECT_TRUE(learned->named_buffers().empty());
  EXPECT_EQ(max_abs_diff(param(*learned, "matrices"), buffer(*fixed, "matrices")), 0.f);
}

TEST(LearnedOrthoMux, MatchesFormulaOnHandMadeMatrices) {
  auto mux = make_mux("learned_ortho", vector_context(2, 2));
  // O_0 = [[0, 1], [1, 0]] (swap), O_1 = [[2, 0], [0, 3]]
  param(*mux, "matrices").copy_(Tensor::from_vector({0, 1, 1, 0, 2, 0, 0, 3}, {2, 2, 2}));
  const Tensor x = Tensor::from_vector({1, 2, 10, 20}, {2, 1, 2});
  const float s = 1.f / std::sqrt(2.f);
  expect_values(mux->forward(x), {(2 + 20) * s, (1 + 60) * s});
}

TEST(LearnedOrthoMux, GradientReachesTheMatrices) {
  auto mux = make_mux("learned_ortho", sequence_context(2, 4));
  const Tensor x = random_leaf({2, 2, 3, 4}, 1);
  weighted_sum(mux->forward(x)).backward();
  const Tensor g = param(*mux, "matrices").grad();
  ASSERT_TRUE(g.defined());
  EXPECT_GT(max_abs_diff(g, Tensor::zeros(g.shape())), 0.f);
}

TEST(LearnedOrthoMux, GradientsMatchFiniteDifferences) {
  auto mux = make_mux("learned_ortho", sequence_context(2, 4));
  const Tensor x = random_leaf({2, 2, 2, 4}, 9);
  expect_gradients_match([&] { return weighted_sum(mux->forward(x)); }, {x, param(*mux, "matrices")});
}
