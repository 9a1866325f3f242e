// demux "linear", loaded through the registry: h^i = W_i h + b_i against a naive reference, the bias
// option, per-instance outputs, shape errors and finite-difference gradients.
#include <gmock/gmock.h>

#include <gradcheck.hpp>

#include "../../testing/plugin_test_util.hpp"

using namespace datamux;
using namespace datamux::testing;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(LinearDemux, MatchesHandMadeMaps) {
  auto demux = make_demux("linear", vector_context(2, 2));
  param(*demux, "weight").copy_(Tensor::from_vector({1, 2, 3, 4, 0, -1, 1, 0}, {2, 2, 2}));
  param(*demux, "bias").copy_(Tensor::from_vector({0.5f, -0.5f, 10, 20}, {2, 2}));
  const Tensor h = Tensor::from_vector({1, 1, 2, -1}, {2, 2});  // B = 2
  const Tensor y = demux->forward(h);
  ASSERT_EQ(y.shape(), (Shape{2, 2, 2}));
  // instance 0: W0 = [[1,2],[3,4]], b0 = [.5,-.5]; instance 1: W1 = [[0,-1],[1,0]], b1 = [10,20]
  expect_values(y, {3.5f, 6.5f, 0.5f, 1.5f, 9, 21, 11, 22});
}

TEST(LinearDemux, SequenceStatesKeepTheirShape) {
  auto demux = make_demux("linear", sequence_context(3, 4));
  Rng rng(1);
  const Tensor h = Tensor::randn({2, 5, 4}, rng);
  const Tensor y = demux->forward(h);
  ASSERT_EQ(y.shape(), (Shape{3, 2, 5, 4}));
  const Tensor w = param(*demux, "weight"), b = param(*demux, "bias");
  for (int64_t i = 0; i < 3; ++i)
    for (int64_t t = 0; t < 5; ++t)
      for (int64_t o = 0; o < 4; ++o) {
        float s = b.at({i, o});
        for (int64_t k = 0; k < 4; ++k) s += w.at({i, o, k}) * h.at({1, t, k});
        EXPECT_NEAR(y.at({i, 1, t, o}), s, 1e-5f);
      }
}

TEST(LinearDemux, BiasIsOptional) {
  Options o;
  o.set("bias", false);
  auto demux = make_demux("linear", vector_context(2, 3), o);
  EXPECT_THAT(parameter_names(*demux), ElementsAre("weight"));
  const Tensor y = demux->forward(Tensor::zeros({4, 3}));
  EXPECT_EQ(max_abs_diff(y, Tensor::zeros({2, 4, 3})), 0.f);
}

TEST(LinearDemux, EachInstanceGetsItsOwnOutput) {
  auto demux = make_demux("linear", vector_context(3, 8));
  Rng rng(2);
  const Tensor y = demux->forward(Tensor::randn({4, 8}, rng));
  EXPECT_GT(max_abs_diff(y.select(0, 0), y.select(0, 1)), 1e-2f);
  EXPECT_GT(max_abs_diff(y.select(0, 1), y.select(0, 2)), 1e-2f);
}

TEST(LinearDemux, RejectsStatesOfTheWrongWidth) {
  auto demux = make_demux("linear", vector_context(2, 8));
  try {
    demux->forward(Tensor::zeros({3, 4}));
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), HasSubstr("linear demux: expected backbone states [B, ..., hidden=8], got [3, 4]"));
  }
}

TEST(LinearDemux, GradientsMatchFiniteDifferences) {
  auto demux = make_demux("linear", vector_context(3, 4));
  const Tensor h = random_leaf({2, 4}, 5);
  expect_gradients_match([&] { return weighted_sum(demux->forward(h)); },
                         {h, param(*demux, "weight"), param(*demux, "bias")});
}
