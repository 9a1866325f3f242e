// mux "conv_gaussian", loaded through the registry: the summed per-instance convolutions against a
// direct loop, N(0, 1) kernels, out_channels, fixed kernels get no gradient, non-image tasks and bad
// shapes refused, finite-difference gradients.
#include <gmock/gmock.h>

#include <cmath>
#include <gradcheck.hpp>

#include "../../testing/plugin_test_util.hpp"

using namespace datamux;
using namespace datamux::testing;
using ::testing::HasSubstr;

namespace {

/// sum_i conv(x_i, K_i) with K_i = weight[:, i*C:(i+1)*C], stride 1, zero padding k/2, by direct loops.
std::vector<float> conv_mux_ref(const Tensor& x, const Tensor& weight) {
  const int64_t n = x.size(0), b = x.size(1), c = x.size(2), h = x.size(3), w = x.size(4);
  const int64_t o = weight.size(0), k = weight.size(2), pad = k / 2;
  std::vector<float> out(static_cast<std::size_t>(b * o * h * w), 0.f);
  for (int64_t bi = 0; bi < b; ++bi)
    for (int64_t oc = 0; oc < o; ++oc)
      for (int64_t y = 0; y < h; ++y)
        for (int64_t xx = 0; xx < w; ++xx) {
          double s = 0.0;
          for (int64_t i = 0; i < n; ++i)
            for (int64_t ic = 0; ic < c; ++ic)
              for (int64_t ky = 0; ky < k; ++ky)
                for (int64_t kx = 0; kx < k; ++kx) {
                  const int64_t sy = y + ky - pad, sx = xx + kx - pad;
                  if (sy < 0 || sy >= h || sx < 0 || sx >= w) continue;
                  s += weight.at({oc, i * c + ic, ky, kx}) * x.at({i, bi, ic, sy, sx});
                }
          out[((bi * o + oc) * h + y) * w + xx] = static_cast<float>(s);
        }
  return out;
}

}  // namespace

TEST(ConvGaussianMux, MatchesSummedPerInstanceConvolutions) {
  Options o;
  o.set("out_channels", int64_t{3});
  auto mux = make_mux("conv_gaussian", image_context(2, 2, 4, 5), o);
  const Tensor weight = buffer(*mux, "weight");
  ASSERT_EQ(weight.shape(), (Shape{3, 4, 3, 3}));
  Rng rng(2);
  const Tensor x = Tensor::randn({2, 2, 2, 4, 5}, rng);
  const Tensor y = mux->forward(x);
  ASSERT_EQ(y.shape(), (Shape{2, 3, 4, 5}));
  expect_values(y, conv_mux_ref(x, weight), 1e-4f, 1e-4f);
}

TEST(ConvGaussianMux, OutChannelsDefaultToTheInputsAndKernelSizeIsAnOption) {
  Options o;
  o.set("kernel_size", int64_t{5});
  auto mux = make_mux("conv_gaussian", image_context(3, 2, 6, 6), o);
  const Tensor weight = buffer(*mux, "weight");
  EXPECT_EQ(weight.shape(), (Shape{2, 6, 5, 5}));
  Rng rng(5);
  const Tensor x = Tensor::randn({3, 1, 2, 6, 6}, rng);
  expect_values(mux->forward(x), conv_mux_ref(x, weight), 1e-4f, 1e-4f);
}

TEST(ConvGaussianMux, KernelsAreStandardNormal) {
  Options o;
  o.set("out_channels", int64_t{16});
  const std::vector<float> w = buffer(*make_mux("conv_gaussian", image_context(4, 4, 4, 4), o), "weight").to_vector();
  ASSERT_EQ(w.size(), 16u * 16u * 9u);
  double mean = 0.0, sq = 0.0;
  for (float v : w) mean += v;
  mean /= static_cast<double>(w.size());
  for (float v : w) sq += (v - mean) * (v - mean);
  EXPECT_NEAR(mean, 0.0, 0.1);
  EXPECT_NEAR(std::sqrt(sq / static_cast<double>(w.size())), 1.0, 0.1);
}

TEST(ConvGaussianMux, FixedKernelsGetNoGradientAndTrainableOnesDo) {
  auto fixed = make_mux("conv_gaussian", image_context(2, 1, 3, 3));
  EXPECT_TRUE(fixed->named_parameters().empty());
  const Tensor x = random_leaf({2, 1, 1, 3, 3}, 1);
  weighted_sum(fixed->forward(x)).backward();
  EXPECT_TRUE(x.grad().defined());
  EXPECT_FALSE(buffer(*fixed, "weight").grad().defined());

  Options o;
  o.set("trainable", true);
  auto trained = make_mux("conv_gaussian", image_context(2, 1, 3, 3), o);
  weighted_sum(trained->forward(x)).backward();
  EXPECT_TRUE(param(*trained, "weight").grad().defined());
}

TEST(ConvGaussianMux, SameImageInDifferentSlotsGivesDifferentOutputs) {
  auto mux = make_mux("conv_gaussian", image_context(2, 1, 4, 4));
  Rng rng(8);
  const Tensor one = Tensor::randn({1, 1, 4, 4}, rng);
  EXPECT_GT(max_abs_diff(mux->forward(in_slot(one, 2, 0)), mux->forward(in_slot(one, 2, 1))), 1e-2f);
}

TEST(ConvGaussianMux, RefusesNonImageTasksAndEvenKernels) {
  try {
    make_mux("conv_gaussian", sequence_context(2, 8));
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr("convolves images"));
  }
  Options o;
  o.set("kernel_size", int64_t{4});
  EXPECT_THROW(make_mux("conv_gaussian", image_context(2, 1, 4, 4), o), InputError);
}

TEST(ConvGaussianMux, RejectsInputOfTheWrongShape) {
  auto mux = make_mux("conv_gaussian", image_context(2, 1, 4, 4));
  try {
    mux->forward(Tensor::zeros({2, 3, 1, 4, 5}));
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), HasSubstr("expected [N=2, B, C=1, H=4, W=4], got [2, 3, 1, 4, 5]"));
  }
}

TEST(ConvGaussianMux, GradientsMatchFiniteDifferences) {
  Options o;
  o.set("trainable", true);
  o.set("out_channels", int64_t{2});
  auto mux = make_mux("conv_gaussian", image_context(2, 2, 3, 3), o);
  const Tensor x = random_leaf({2, 1, 2, 3, 3}, 9);
  expect_gradients_match([&] { return weighted_sum(mux->forward(x)); }, {x, param(*mux, "weight")});
}
