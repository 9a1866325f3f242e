// mux "binary_hadamard", loaded through the registry: the 0/1 chunk masks with and without overlap,
// the (1/N) sum x_i ⊙ v_i formula, fixed masks get no gradient, d < N refused, gradients.
#include <gmock/gmock.h>

#include <gradcheck.hpp>

#include "../../testing/plugin_test_util.hpp"

using namespace datamux;
using namespace datamux::testing;
using ::testing::HasSubstr;

namespace {

std::vector<float> masks(int64_t n, int64_t d, double overlap) {
  Options o;
  o.set("overlap", overlap);
  return buffer(*make_mux("binary_hadamard", vector_context(n, d), o), "codes").to_vector();
}

}  // namespace

TEST(BinaryHadamardMux, ChunksSplitTheDimsAndTheLastRunsToTheEnd) {
  // d = 10, N = 3: chunk 3 -> [0, 3), [3, 6), [6, 10)
  EXPECT_EQ(masks(3, 10, 0.0), (std::vector<float>{1, 1, 1, 0, 0, 0, 0, 0, 0, 0,  //
                                                   0, 0, 0, 1, 1, 1, 0, 0, 0, 0,  //
                                                   0, 0, 0, 0, 0, 0, 1, 1, 1, 1}));
}

TEST(BinaryHadamardMux, OverlapWidensEachChunkOnItsInnerSides) {
  // d = 12, N = 3: chunk 4, widened by floor(0.5 * 4 / 2) = 1 -> [0, 5), [3, 9), [7, 12)
  EXPECT_EQ(masks(3, 12, 0.5), (std::vector<float>{1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0,  //
                                                   0, 0, 0, 1, 1, 1, 1, 1, 1, 0, 0, 0,  //
                                                   0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1}));
}

TEST(BinaryHadamardMux, MatchesFormulaOnHandMadeInput) {
  auto mux = make_mux("binary_hadamard", sequence_context(2, 4));
  // x: [N=2, B=1, L=2, d=4]; instance 0 keeps dims 0-1, instance 1 dims 2-3, then / 2.
  const Tensor x = Tensor::from_vector({1, 2, 3, 4, 5, 6, 7, 8, 10, 20, 30, 40, 50, 60, 70, 80}, {2, 1, 2, 4});
  const Tensor y = mux->forward(x);
  ASSERT_EQ(y.shape(), (Shape{1, 2, 4}));
  expect_values(y, {0.5f, 1, 15, 20, 2.5f, 3, 35, 40});
}

TEST(BinaryHadamardMux, FixedMasksGetNoGradientAndTrainableOnesDo) {
  auto fixed = make_mux("binary_hadamard", sequence_context(2, 4));
  EXPECT_TRUE(fixed->named_parameters().empty());
  const Tensor x = random_leaf({2, 1, 3, 4}, 2);
  weighted_sum(fixed->forward(x)).backward();
  EXPECT_FALSE(buffer(*fixed, "codes").grad().defined());
  // Input gradient is the mask / N: dims outside an instance's chunk get none.
  EXPECT_EQ(x.grad().at({0, 0, 0, 3}), 0.f);
  EXPECT_NE(x.grad().at({0, 0, 0, 0}), 0.f);

  Options o;
  o.set("trainable", true);
  auto trained = make_mux("binary_hadamard", sequence_context(2, 4), o);
  weighted_sum(trained->forward(x)).backward();
  EXPECT_TRUE(param(*trained, "codes").grad().defined());
}

TEST(BinaryHadamardMux, SameInputInDifferentSlotsGivesDifferentOutputs) {
  auto mux = make_mux("binary_hadamard", vector_context(2, 6));
  const Tensor one = Tensor::ones({1, 6});
  EXPECT_GT(max_abs_diff(mux->forward(in_slot(one, 2, 0)), mux->forward(in_slot(one, 2, 1))), 0.4f);
}

TEST(BinaryHadamardMux, RefusesFewerDimsThanInstances) {
  try {
    make_mux("binary_hadamard", vector_context(5, 4));
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr("needs d >= N"));
  }
}

TEST(BinaryHadamardMux, RejectsInputOfTheWrongShape) {
  auto mux = make_mux("binary_hadamard", vector_context(2, 4));
  EXPECT_THROW(mux->forward(Tensor::zeros({3, 1, 4})), std::invalid_argument);
}

TEST(BinaryHadamardMux, GradientsMatchFiniteDifferences) {
  Options o;
  o.set("trainable", true);
  o.set("overlap", 1.0);
  auto mux = make_mux("binary_hadamard", sequence_context(3, 6), o);
  const Tensor x = random_leaf({3, 2, 2, 6}, 9);
  expect_gradients_match([&] { return weighted_sum(mux->forward(x)); }, {x, param(*mux, "codes")});
}
