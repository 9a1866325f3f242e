// ops::conv2d, ops::max_pool2d, ops::avg_pool2d: forward against naive loops, gradients against
// finite differences (strides, padding, no bias, non-contiguous inputs), and bad input.
#include <datamux/core/dnnl_context.hpp>
#include <datamux/ops.hpp>
#include <gradcheck.hpp>

#include <algorithm>
#include <limits>
#include <numeric>
#include <stdexcept>

using namespace datamux;
using datamux::testing::expect_close;
using datamux::testing::expect_gradients_match;
using datamux::testing::weighted_sum;

namespace {

Tensor naive_conv2d(const Tensor& x, const Tensor& w, const Tensor& b, int64_t stride, int64_t pad) {
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), wd = x.size(3);
  const int64_t o = w.size(0), kh = w.size(2), kw = w.size(3);
  const int64_t oh = (h + 2 * pad - kh) / stride + 1, ow = (wd + 2 * pad - kw) / stride + 1;
  std::vector<float> y(static_cast<std::size_t>(n * o * oh * ow));
  for (int64_t in = 0; in < n; ++in)
    for (int64_t oc = 0; oc < o; ++oc)
      for (int64_t i = 0; i < oh; ++i)
        for (int64_t j = 0; j < ow; ++j) {
          double acc = b.defined() ? b.at({oc}) : 0.f;
          for (int64_t ic = 0; ic < c; ++ic)
            for (int64_t p = 0; p < kh; ++p)
              for (int64_t q = 0; q < kw; ++q) {
                const int64_t r = i * stride + p - pad, s = j * stride + q - pad;
                if (r < 0 || r >= h || s < 0 || s >= wd) continue;
                acc += static_cast<double>(x.at({in, ic, r, s})) * w.at({oc, ic, p, q});
              }
          y[static_cast<std::size_t>(((in * o + oc) * oh + i) * ow + j)] = static_cast<float>(acc);
        }
  return Tensor::from_vector(y, {n, o, oh, ow});
}

Tensor naive_pool(const Tensor& x, int64_t k, int64_t stride, bool max) {
  const int64_t n = x.size(0), c = x.size(1), oh = (x.size(2) - k) / stride + 1, ow = (x.size(3) - k) / stride + 1;
  std::vector<float> y(static_cast<std::size_t>(n * c * oh * ow));
  for (int64_t a = 0; a < n; ++a)
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t i = 0; i < oh; ++i)
        for (int64_t j = 0; j < ow; ++j) {
          float acc = max ? -std::numeric_limits<float>::infinity() : 0.f;
          for (int64_t p = 0; p < k; ++p)
            for (int64_t q = 0; q < k; ++q) {
              const float v = x.at({a, ch, i * stride + p, j * stride + q});
              acc = max ? std::max(acc, v) : acc + v;
            }
          y[static_cast<std::size_t>(((a * c + ch) * oh + i) * ow + j)] = max ? acc : acc / static_cast<float>(k * k);
        }
  return Tensor::from_vector(y, {n, c, oh, ow});
}

// Distinct values at least 0.05 apart, shuffled: finite differences never flip a max-pool arg-max.
Tensor distinct_values(const Shape& shape, uint64_t seed) {
  std::vector<float> v(static_cast<std::size_t>(shape_numel(shape)));
  std::iota(v.begin(), v.end(), 0.f);
  Rng rng(seed);
  std::shuffle(v.begin(), v.end(), rng.engine());
  for (float& f : v) f = f * 0.05f - 1.f;
  return Tensor::from_vector(v, shape);
}

}  // namespace

// ---------------------------------------------------------------- conv2d

TEST(Conv2d, ForwardMatchesNaiveAcrossStridesAndPadding) {
  Rng rng(1);
  struct Case {
    Shape x, w;
    int64_t stride, pad;
    bool bias;
  };
  for (const Case& c : {Case{{2, 3, 7, 6}, {4, 3, 3, 3}, 1, 1, true}, Case{{1, 2, 9, 9}, {3, 2, 5, 5}, 2, 2, true},
                        Case{{2, 1, 8, 5}, {2, 1, 3, 2}, 1, 0, false}, Case{{1, 4, 6, 6}, {5, 4, 1, 1}, 3, 0, true}}) {
    SCOPED_TRACE(::testing::Message() << shape_str(c.x) << " * " << shape_str(c.w) << " stride " << c.stride << " pad " << c.pad);
    Tensor x = Tensor::randn(c.x, rng), w = Tensor::randn(c.w, rng);
    Tensor b = c.bias ? Tensor::randn({c.w[0]}, rng) : Tensor();
    expect_close(ops::conv2d(x, w, b, c.stride, c.pad), naive_conv2d(x, w, b, c.stride, c.pad), 1e-4f, 1e-4f);
  }
}

TEST(Conv2d, NonContiguousInputMatchesNaive) {
  Rng rng(2);
  Tensor nhwc = Tensor::randn({2, 5, 6, 3}, rng);
  Tensor x = nhwc.permute({0, 3, 1, 2});  // [2, 3, 5, 6] as a strided view
  Tensor w = Tensor::randn({4, 3, 3, 3}, rng), b = Tensor::randn({4}, rng);
  expect_close(ops::conv2d(x, w, b, 1, 1), naive_conv2d(x, w, b, 1, 1), 1e-4f, 1e-4f);
}

TEST(Conv2dGrad, WithBiasStrideAndPadding) {
  Rng rng(3);
  Tensor x = Tensor::randn({2, 2, 5, 5}, rng).set_requires_grad();
  Tensor w = Tensor::randn({3, 2, 3, 3}, rng, 0.f, 0.5f).set_requires_grad();
  Tensor b = Tensor::randn({3}, rng).set_requires_grad();
  expect_gradients_match([&] { return weighted_sum(ops::conv2d(x, w, b, 2, 1)); }, {x, w, b});
}

TEST(Conv2dGrad, NoBiasNonContiguousInput) {
  Rng rng(4);
  Tensor x = Tensor::randn({2, 6, 5, 2}, rng).set_requires_grad();  // NHWC, viewed as NCHW
  Tensor w = Tensor::randn({3, 2, 2, 3}, rng, 0.f, 0.5f).set_requires_grad();
  expect_gradients_match([&] { return weighted_sum(ops::conv2d(x.permute({0, 3, 1, 2}), w, Tensor(), 1, 0)); }, {x, w});
}

TEST(Conv2dGrad, OnlyWeightTrainable) {
  Rng rng(5);
  Tensor x = Tensor::randn({1, 2, 4, 4}, rng);
  Tensor w = Tensor::randn({2, 2, 3, 3}, rng).set_requires_grad();
  Tensor b = Tensor::randn({2}, rng);
  expect_gradients_match([&] { return weighted_sum(ops::conv2d(x, w, b, 1, 1)); }, {w});
  EXPECT_FALSE(b.grad().defined());
}

TEST(Conv2d, RepeatedShapeReusesPrimitives) {
  Rng rng(6);
  Tensor x = Tensor::randn({2, 3, 8, 8}, rng).set_requires_grad();
  Tensor w = Tensor::randn({4, 3, 3, 3}, rng).set_requires_grad();
  Tensor b = Tensor::randn({4}, rng).set_requires_grad();
  ops::sum(ops::conv2d(x, w, b, 1, 1)).backward();
  const auto before = dnnl_ctx::primitive_cache_stats();
  ops::sum(ops::conv2d(x, w, b, 1, 1)).backward();
  EXPECT_EQ(dnnl_ctx::primitive_cache_stats().misses, before.misses);
}

TEST(Conv2d, BadInputThrows) {
  EXPECT_THROW(ops::conv2d(Tensor::zeros({3, 8, 8}), Tensor::zeros({2, 3, 3, 3}), Tensor()), std::invalid_argument);
  EXPECT_THROW(ops::conv2d(Tensor::zeros({1, 3, 8, 8}), Tensor::zeros({2, 4, 3, 3}), Tensor()), std::invalid_argument);
  EXPECT_THROW(ops::conv2d(Tensor::zeros({1, 3, 2, 2}), Tensor::zeros({2, 3, 3, 3}), Tensor()), std::invalid_argument);
  EXPECT_THROW(ops::conv2d(Tensor::zeros({1, 3, 8, 8}), Tensor::zeros({2, 3, 3, 3}), Tensor::zeros({3})), std::invalid_argument);
  EXPECT_THROW(ops::conv2d(Tensor::zeros({1, 3, 8, 8}), Tensor::zeros({2, 3, 3, 3}), Tensor(), 0), std::invalid_argument);
}

// ---------------------------------------------------------------- pooling

TEST(Pool2d, ForwardMatchesNaive) {
  Rng rng(10);
  Tensor x = Tensor::randn({2, 3, 7, 8}, rng);
  for (auto [k, s] : {std::pair<int64_t, int64_t>{2, 2}, {3, 2}, {2, 1}, {3, 3}}) {
    SCOPED_TRACE(::testing::Message() << "kernel " << k << " stride " << s);
    expect_close(ops::max_pool2d(x, k, s), naive_pool(x, k, s, true), 1e-6f, 1e-6f);
    expect_close(ops::avg_pool2d(x, k, s), naive_pool(x, k, s, false), 1e-5f, 1e-5f);
  }
  EXPECT_EQ(ops::max_pool2d(x, 2).shape(), (Shape{2, 3, 3, 4}));  // stride defaults to the kernel, floor
}

TEST(Pool2dGrad, MaxPoolOverlappingAndNonContiguous) {
  Tensor x = distinct_values({2, 2, 5, 6}, 11).set_requires_grad();
  expect_gradients_match([&] { return weighted_sum(ops::max_pool2d(x, 3, 2)); }, {x});
  expect_gradients_match([&] { return weighted_sum(ops::max_pool2d(x, 2)); }, {x});
  Tensor y = distinct_values({2, 4, 5, 3}, 12).set_requires_grad();  // NHWC viewed as NCHW
  expect_gradients_match([&] { return weighted_sum(ops::max_pool2d(y.permute({0, 3, 1, 2}), 2, 1)); }, {y});
}

TEST(Pool2dGrad, MaxPoolRoutesGradientToTheArgMax) {
  Tensor x = Tensor::from_vector({1, 5, 2, 3, /**/ 4, 0, 9, 1, /**/ 0, 0, 0, 0, /**/ 7, 0, 0, 8}, {1, 1, 4, 4}).set_requires_grad();
  ops::sum(ops::max_pool2d(x, 2)).backward();
  EXPECT_EQ(x.grad().to_vector(), (std::vector<float>{0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 1}));
}

TEST(Pool2dGrad, AvgPool) {
  Rng rng(13);
  Tensor x = Tensor::randn({2, 3, 5, 7}, rng).set_requires_grad();
  expect_gradients_match([&] { return weighted_sum(ops::avg_pool2d(x, 3, 2)); }, {x});
  expect_gradients_match([&] { return weighted_sum(ops::avg_pool2d(x.transpose(2, 3), 2)); }, {x});
}

TEST(Pool2d, EvaluationNeedsNoGraph) {
  Tensor x = distinct_values({1, 1, 4, 4}, 14).set_requires_grad();
  NoGradGuard ng;
  Tensor y = ops::max_pool2d(x, 2);
  EXPECT_FALSE(y.requires_grad());
  expect_close(y, naive_pool(x, 2, 2, true), 0.f, 0.f);
}

TEST(Pool2d, BadInputThrows) {
  EXPECT_THROW(ops::max_pool2d(Tensor::zeros({3, 8, 8}), 2), std::invalid_argument);
  EXPECT_THROW(ops::max_pool2d(Tensor::zeros({1, 3, 8, 8}), 0), std::invalid_argument);
  EXPECT_THROW(ops::avg_pool2d(Tensor::zeros({1, 3, 2, 2}), 3), std::invalid_argument);
  EXPECT_THROW(ops::avg_pool2d(Tensor::zeros({1, 3, 8, 8}), 2, 0), std::invalid_argument);
}
