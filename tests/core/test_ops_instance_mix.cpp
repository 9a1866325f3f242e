// ops::instance_weighted_mean: the code muxes' one-pass mix equals mean(mul(x, w), 0), its gradients
// match finite differences, and bad shapes are rejected.
#include <datamux/ops.hpp>
#include <gtest/gtest.h>

#include "gradcheck.hpp"

namespace datamux {
namespace {

using testing::expect_close;
using testing::expect_gradients_match;
using testing::weighted_sum;

TEST(InstanceWeightedMean, EqualsMeanOfProducts) {
  Rng rng(3);
  const Tensor x = Tensor::randn({5, 7, 33}, rng), w = Tensor::randn({5, 33}, rng);
  expect_close(ops::instance_weighted_mean(x, w), ops::mean(ops::mul(x, w.unsqueeze(1)), {0}), 1e-6f, 1e-5f);
  // A strided (transposed) input is read correctly too.
  const Tensor xt = Tensor::randn({7, 5, 33}, rng).transpose(0, 1);
  expect_close(ops::instance_weighted_mean(xt, w), ops::mean(ops::mul(xt, w.unsqueeze(1)), {0}), 1e-6f, 1e-5f);
}

TEST(InstanceWeightedMean, GradientsMatchFiniteDifferences) {
  Rng rng(4);
  Tensor x = Tensor::randn({3, 4, 5}, rng).set_requires_grad();
  Tensor w = Tensor::randn({3, 5}, rng).set_requires_grad();
  expect_gradients_match([&] { return weighted_sum(ops::instance_weighted_mean(x, w)); }, {x, w});
}

TEST(InstanceWeightedMean, RejectsMismatchedShapes) {
  EXPECT_THROW(ops::instance_weighted_mean(Tensor::zeros({3, 4, 5}), Tensor::zeros({2, 5})), std::invalid_argument);
  EXPECT_THROW(ops::instance_weighted_mean(Tensor::zeros({3, 4, 5}), Tensor::zeros({3, 4})), std::invalid_argument);
  EXPECT_THROW(ops::instance_weighted_mean(Tensor::zeros({3, 5}), Tensor::zeros({3, 5})), std::invalid_argument);
}

}  // namespace
}  // namespace datamux
