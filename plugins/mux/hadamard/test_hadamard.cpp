// mux "hadamard", loaded through the registry: codes are Sylvester-Hadamard rows (+-norm/sqrt(d)),
// exactly orthogonal for power-of-two d, row 0 skipped unless asked, too many instances refused, the
// formula, no gradient when fixed, and finite-difference gradients.
#include <gmock/gmock.h>

#include <bit>
#include <cmath>
#include <gradcheck.hpp>

#include "../../testing/plugin_test_util.hpp"

using namespace datamux;
using namespace datamux::testing;
using ::testing::HasSubstr;

namespace {

double dot(const Tensor& codes, int64_t i, int64_t j) {
  double s = 0.0;
  for (int64_t k = 0; k < codes.size(1); ++k) s += codes.at({i, k}) * codes.at({j, k});
  return s;
}

}  // namespace

TEST(HadamardMux, CodesAreOrthogonalWithTheRequestedNorm) {
  Options o;
  o.set("norm", 2.0);
  auto mux = make_mux("hadamard", sequence_context(15, 16), o);
  const Tensor codes = buffer(*mux, "codes");
  ASSERT_EQ(codes.shape(), (Shape{15, 16}));
  for (int64_t i = 0; i < 15; ++i)
    for (int64_t j = 0; j < 15; ++j) EXPECT_NEAR(dot(codes, i, j), i == j ? 4.0 : 0.0, 1e-5) << i << ", " << j;
}

TEST(HadamardMux, CodesAreSylvesterRowsStartingAtRowOne) {
  auto mux = make_mux("hadamard", vector_context(3, 8));
  const Tensor codes = buffer(*mux, "codes");
  const float s = 1.f / std::sqrt(8.f);
  for (int64_t i = 0; i < 3; ++i)
    for (int64_t c = 0; c < 8; ++c) {
      const float sign = (std::popcount(static_cast<unsigned>((i + 1) & c)) & 1) ? -1.f : 1.f;
      EXPECT_FLOAT_EQ(codes.at({i, c}), sign * s) << "row " << i << " col " << c;
    }
}

TEST(HadamardMux, RowZeroIsUsedWhenNotSkipped) {
  Options o;
  o.set("skip_first_row", false);
  auto mux = make_mux("hadamard", vector_context(8, 8), o);
  const Tensor codes = buffer(*mux, "codes");
  for (int64_t c = 0; c < 8; ++c) EXPECT_GT(codes.at({0, c}), 0.f);
  for (int64_t i = 0; i < 8; ++i)
    for (int64_t j = 0; j < i; ++j) EXPECT_NEAR(dot(codes, i, j), 0.0, 1e-6);
}

TEST(HadamardMux, TruncatesTheNextPowerOfTwoForOtherSizes) {
  auto mux = make_mux("hadamard", vector_context(4, 12));  // rows of the order-16 matrix, 12 columns
  const Tensor codes = buffer(*mux, "codes");
  ASSERT_EQ(codes.shape(), (Shape{4, 12}));
  for (int64_t i = 0; i < 4; ++i) EXPECT_NEAR(dot(codes, i, i), 1.0, 1e-5);
  EXPECT_NEAR(std::fabs(codes.at({0, 11})), 1.f / std::sqrt(12.f), 1e-6);
}

TEST(HadamardMux, RefusesMoreInstancesThanRows) {
  try {
    make_mux("hadamard", vector_context(8, 8));
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr("skip_first_row = false"));
  }
}

TEST(HadamardMux, MatchesFormulaOnHandMadeInput) {
  auto mux = make_mux("hadamard", vector_context(2, 4));
  // rows 1 and 2 of H4 / 2: [1,-1,1,-1]/2 and [1,1,-1,-1]/2
  const Tensor x = Tensor::from_vector({1, 2, 3, 4, 10, 20, 30, 40}, {2, 1, 4});
  expect_values(mux->forward(x), {(1 + 10) / 4.f, (-2 + 20) / 4.f, (3 - 30) / 4.f, (-4 - 40) / 4.f});
}

TEST(HadamardMux, FixedCodesGetNoGradient) {
  auto mux = make_mux("hadamard", sequence_context(2, 4));
  EXPECT_TRUE(mux->named_parameters().empty());
  const Tensor x = random_leaf({2, 1, 3, 4}, 2);
  weighted_sum(mux->forward(x)).backward();
  EXPECT_TRUE(x.grad().defined());
  EXPECT_FALSE(buffer(*mux, "codes").grad().defined());
}

TEST(HadamardMux, SameInputInDifferentSlotsGivesDifferentOutputs) {
  auto mux = make_mux("hadamard", vector_context(3, 8));
  Rng rng(1);
  const Tensor one = Tensor::randn({2, 8}, rng);
  EXPECT_GT(max_abs_diff(mux->forward(in_slot(one, 3, 0)), mux->forward(in_slot(one, 3, 1))), 1e-3f);
  EXPECT_GT(max_abs_diff(mux->forward(in_slot(one, 3, 1)), mux->forward(in_slot(one, 3, 2))), 1e-3f);
}

TEST(HadamardMux, GradientsMatchFiniteDifferences) {
  Options o;
  o.set("trainable", true);
  auto mux = make_mux("hadamard", sequence_context(3, 8), o);
  const Tensor x = random_leaf({3, 2, 2, 8}, 9);
  expect_gradients_match([&] { return weighted_sum(mux->forward(x)); }, {x, param(*mux, "codes")});
}
