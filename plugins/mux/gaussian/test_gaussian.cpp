// mux "gaussian", loaded through the registry: code norms, the (1/N) sum x_i ⊙ v_i formula on a
// hand-made input, seeds, fixed vs trainable codes, per-instance outputs, image inputs, shape errors
// and finite-difference gradients.
#include <gmock/gmock.h>

#include <cmath>
#include <gradcheck.hpp>

#include "../../testing/plugin_test_util.hpp"

using namespace datamux;
using namespace datamux::testing;
using ::testing::HasSubstr;

namespace {

Options with_norm(double norm) {
  Options o;
  o.set("norm", norm);
  return o;
}

}  // namespace

TEST(GaussianMux, CodesAreUnitDirectionsScaledToNorm) {
  auto mux = make_mux("gaussian", sequence_context(3, 16), with_norm(20.0));
  const Tensor codes = buffer(*mux, "codes");
  ASSERT_EQ(codes.shape(), (Shape{3, 16}));
  for (int64_t i = 0; i < 3; ++i) {
    double sq = 0.0;
    for (int64_t k = 0; k < 16; ++k) sq += codes.at({i, k}) * codes.at({i, k});
    EXPECT_NEAR(std::sqrt(sq), 20.0, 1e-4);
  }
  EXPECT_GT(max_abs_diff(codes.select(0, 0), codes.select(0, 1)), 0.1f) << "instances must get different codes";
}

TEST(GaussianMux, MatchesFormulaOnHandMadeInput) {
  auto mux = make_mux("gaussian", sequence_context(2, 3));
  const Tensor v = buffer(*mux, "codes");
  // x: [N=2, B=1, L=2, d=3]
  const Tensor x = Tensor::from_vector({1, 2, 3, 4, 5, 6, -1, 0, 2, 0.5f, -3, 1}, {2, 1, 2, 3});
  const Tensor y = mux->forward(x);
  ASSERT_EQ(y.shape(), (Shape{1, 2, 3}));
  for (int64_t t = 0; t < 2; ++t)
    for (int64_t k = 0; k < 3; ++k) {
      const float expected = (x.at({0, 0, t, k}) * v.at({0, k}) + x.at({1, 0, t, k}) * v.at({1, k})) / 2.f;
      EXPECT_NEAR(y.at({0, t, k}), expected, 1e-5f) << "t " << t << " k " << k;
    }
}

TEST(GaussianMux, SeedOptionAndContextSeedDetermineCodes) {
  Options s5;
  s5.set("seed", int64_t{5});
  const Tensor a = buffer(*make_mux("gaussian", sequence_context(2, 8, 1), s5), "codes");
  const Tensor b = buffer(*make_mux("gaussian", sequence_context(2, 8, 2), s5), "codes");
  EXPECT_EQ(max_abs_diff(a, b), 0.f) << "an explicit seed overrides the context seed";
  const Tensor c = buffer(*make_mux("gaussian", sequence_context(2, 8, 1)), "codes");
  const Tensor d = buffer(*make_mux("gaussian", sequence_context(2, 8, 1)), "codes");
  const Tensor e = buffer(*make_mux("gaussian", sequence_context(2, 8, 2)), "codes");
  EXPECT_EQ(max_abs_diff(c, d), 0.f) << "seed 0 derives from the context seed, deterministically";
  EXPECT_GT(max_abs_diff(c, e), 1e-3f);
}

TEST(GaussianMux, FixedCodesAreABufferAndGetNoGradient) {
  auto mux = make_mux("gaussian", sequence_context(2, 4));
  EXPECT_TRUE(mux->named_parameters().empty());
  const Tensor codes = buffer(*mux, "codes");
  EXPECT_FALSE(codes.requires_grad());
  const Tensor x = random_leaf({2, 3, 5, 4}, 1);
  weighted_sum(mux->forward(x)).backward();
  EXPECT_TRUE(x.grad().defined());
  EXPECT_FALSE(codes.grad().defined());
}

TEST(GaussianMux, TrainableCodesAreAParameterAndGetGradient) {
  Options o;
  o.set("trainable", true);
  auto mux = make_mux("gaussian", sequence_context(2, 4), o);
  EXPECT_TRUE(mux->named_buffers().empty());
  const Tensor codes = param(*mux, "codes");
  const Tensor x = random_leaf({2, 3, 5, 4}, 1);
  weighted_sum(mux->forward(x)).backward();
  ASSERT_TRUE(codes.grad().defined());
  EXPECT_GT(max_abs_diff(codes.grad(), Tensor::zeros(codes.shape())), 0.f);
}

TEST(GaussianMux, TrainableCodesStartAsTheFixedOnesAndAStepChangesTheOutput) {
  // trainable = true is what the former `learned` mux was: the same initial codes, then trained.
  Options o;
  o.set("norm", 3.0);
  o.set("seed", int64_t{11});
  auto fixed = make_mux("gaussian", sequence_context(3, 8), o);
  o.set("trainable", true);
  auto trained = make_mux("gaussian", sequence_context(3, 8), o);
  EXPECT_EQ(parameter_names(*trained), std::vector<std::string>{"codes"});
  Tensor codes = param(*trained, "codes");
  EXPECT_EQ(max_abs_diff(codes, buffer(*fixed, "codes")), 0.f);

  const Tensor x = random_leaf({3, 2, 3, 8}, 5);
  const Tensor before = trained->forward(x).detach().clone();
  weighted_sum(trained->forward(x)).backward();
  codes.copy_(ops::sub(codes.detach(), ops::mul(codes.grad(), 0.1f)));
  EXPECT_GT(max_abs_diff(before, trained->forward(x)), 1e-4f);
}

TEST(GaussianMux, SameInputInDifferentSlotsGivesDifferentOutputs) {
  auto mux = make_mux("gaussian", vector_context(3, 8));
  Rng rng(3);
  const Tensor one = Tensor::randn({2, 8}, rng);
  const Tensor y0 = mux->forward(in_slot(one, 3, 0)), y1 = mux->forward(in_slot(one, 3, 1)),
               y2 = mux->forward(in_slot(one, 3, 2));
  EXPECT_GT(max_abs_diff(y0, y1), 1e-3f);
  EXPECT_GT(max_abs_diff(y1, y2), 1e-3f);
  EXPECT_GT(max_abs_diff(y0, y2), 1e-3f);
}

TEST(GaussianMux, ImagesAreCodedOverAllPixels) {
  auto mux = make_mux("gaussian", image_context(2, 1, 2, 3));
  const Tensor codes = buffer(*mux, "codes");
  ASSERT_EQ(codes.shape(), (Shape{2, 6}));
  Rng rng(4);
  const Tensor x = Tensor::randn({2, 3, 1, 2, 3}, rng);
  const Tensor y = mux->forward(x);
  ASSERT_EQ(y.shape(), (Shape{3, 1, 2, 3}));
  expect_values(y, code_mux_ref(x.reshape({2, 3, 6}), codes));
}

TEST(GaussianMux, RejectsInputOfTheWrongShape) {
  auto mux = make_mux("gaussian", sequence_context(4, 64));
  try {
    mux->forward(Tensor::zeros({3, 2, 64}));
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), HasSubstr("gaussian mux: expected [N=4, B, ..., d=64], got [3, 2, 64]"));
  }
  EXPECT_THROW(mux->forward(Tensor::zeros({4, 2, 63})), std::invalid_argument);
  EXPECT_THROW(mux->forward(Tensor::zeros({4, 64})), std::invalid_argument);
}

TEST(GaussianMux, RejectsAContextWithoutFeatureSize) {
  EXPECT_THROW(make_mux("gaussian", sequence_context(2, 0)), InputError);
}

TEST(GaussianMux, GradientsMatchFiniteDifferences) {
  Options o = with_norm(2.0);
  o.set("trainable", true);
  auto mux = make_mux("gaussian", sequence_context(3, 4), o);
  const Tensor x = random_leaf({3, 2, 2, 4}, 9);
  expect_gradients_match([&] { return weighted_sum(mux->forward(x)); }, {x, param(*mux, "codes")});
}
