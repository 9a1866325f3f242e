// gradcheck.hpp - compares autograd gradients with central finite differences.
//
//   Rng rng(1);
//   Tensor a = Tensor::randn({3, 4}, rng).set_requires_grad();
//   expect_gradients_match([&] { return ops::sum(ops::tanh(a)); }, {a});
//
// `f` must build a fresh graph on each call and return a scalar. Each input must be a leaf with
// requires_grad. Tolerances suit f32 with eps = 1e-2 on values of order 1.
#pragma once

#include <datamux/ops.hpp>
#include <datamux/tensor.hpp>
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

namespace datamux::testing {

/// A scalar loss that weights each output element differently, so a wrong gradient cannot hide
/// behind a symmetric sum: sum(y * w) with fixed pseudo-random w.
inline Tensor weighted_sum(const Tensor& y) {
  std::vector<float> w(static_cast<std::size_t>(y.numel()));
  for (std::size_t i = 0; i < w.size(); ++i) w[i] = 0.5f + std::fmod(0.37f * static_cast<float>(i), 1.f);
  return ops::sum(ops::mul(y, Tensor::from_vector(w, y.shape())));
}

inline void expect_gradients_match(const std::function<Tensor()>& f, const std::vector<Tensor>& inputs,
                                   float eps = 1e-2f, float atol = 2e-3f, float rtol = 2e-2f) {
  for (const Tensor& t : inputs) {
    ASSERT_TRUE(t.requires_grad()) << "gradcheck input must require grad";
    const_cast<Tensor&>(t).zero_grad();
  }
  Tensor out = f();
  ASSERT_EQ(out.numel(), 1) << "gradcheck function must return a scalar";
  out.backward();
  for (std::size_t k = 0; k < inputs.size(); ++k) {
    Tensor t = inputs[k];
    ASSERT_TRUE(t.grad().defined()) << "input " << k << " received no gradient";
    std::vector<float> analytic = t.grad().to_vector();
    ASSERT_TRUE(t.is_contiguous());
    float* p = t.data<float>();
    for (int64_t i = 0; i < t.numel(); ++i) {
      const float saved = p[i];
      float plus, minus;
      {
        NoGradGuard ng;
        p[i] = saved + eps;
        plus = f().item();
        p[i] = saved - eps;
        minus = f().item();
        p[i] = saved;
      }
      const float numeric = (plus - minus) / (2.f * eps);
      const float a = analytic[static_cast<std::size_t>(i)];
      EXPECT_NEAR(a, numeric, atol + rtol * std::fabs(numeric))
          << "input " << k << " element " << i << " (shape " << shape_str(t.shape()) << ")";
    }
  }
}

/// Element-wise comparison of two tensors of the same shape.
inline void expect_close(const Tensor& actual, const Tensor& expected, float atol = 1e-4f, float rtol = 1e-4f) {
  ASSERT_EQ(actual.shape(), expected.shape());
  std::vector<float> a = actual.to_vector(), e = expected.to_vector();
  for (std::size_t i = 0; i < a.size(); ++i)
    ASSERT_NEAR(a[i], e[i], atol + rtol * std::fabs(e[i])) << "element " << i;
}

}  // namespace datamux::testing
