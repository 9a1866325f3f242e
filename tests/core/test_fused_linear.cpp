// ops::linear with fused activation and residual (oneDNN post-ops): equal to the unfused ops, on the
// inference path and the training path (gradients), in f32 and close in bf16; the accumulate_grad
// overload that adopts temporaries keeps gradients right.
#include <datamux/core/precision.hpp>
#include <datamux/ops.hpp>
#include <gtest/gtest.h>

#include "gradcheck.hpp"

namespace datamux {
namespace {

using testing::expect_close;
using testing::expect_gradients_match;
using testing::weighted_sum;

struct PrecisionGuard {
  explicit PrecisionGuard(MatmulPrecision p) { set_matmul_precision(p); }
  ~PrecisionGuard() { set_matmul_precision(MatmulPrecision::f32); }
};

struct Inputs {
  Tensor x, w, b, r;
};

Inputs make_inputs(bool trainable) {
  Rng rng(4);
  Inputs in{Tensor::randn({3, 5, 16}, rng), Tensor::randn({24, 16}, rng, 0.f, 0.3f), Tensor::randn({24}, rng),
            Tensor::randn({3, 5, 24}, rng)};
  if (trainable) in.x.set_requires_grad(), in.w.set_requires_grad(), in.b.set_requires_grad(), in.r.set_requires_grad();
  return in;
}

Tensor unfused(const Inputs& in, ops::Activation act, bool residual) {
  Tensor y = ops::linear(in.x, in.w, in.b);
  if (act == ops::Activation::gelu) y = ops::gelu(y);
  if (act == ops::Activation::relu) y = ops::relu(y);
  return residual ? ops::add(y, in.r) : y;
}

TEST(FusedLinear, InferenceEqualsUnfusedOps) {
  const Inputs in = make_inputs(false);
  NoGradGuard no_grad;
  for (auto act : {ops::Activation::none, ops::Activation::gelu, ops::Activation::relu})
    for (bool residual : {false, true}) {
      SCOPED_TRACE(::testing::Message() << "act " << static_cast<int>(act) << " residual " << residual);
      expect_close(ops::linear(in.x, in.w, in.b, act, residual ? in.r : Tensor()), unfused(in, act, residual), 1e-5f,
                   1e-5f);
    }
}

TEST(FusedLinear, TrainingPathMatchesInferencePathAndUnfusedGradients) {
  for (auto act : {ops::Activation::none, ops::Activation::gelu})
    for (bool residual : {false, true}) {
      SCOPED_TRACE(::testing::Message() << "act " << static_cast<int>(act) << " residual " << residual);
      Inputs in = make_inputs(true);
      Tensor fused = ops::linear(in.x, in.w, in.b, act, residual ? in.r : Tensor());
      Tensor inference;
      {
        NoGradGuard no_grad;
        inference = ops::linear(in.x, in.w, in.b, act, residual ? in.r : Tensor());
      }
      expect_close(fused, inference, 1e-5f, 1e-5f);
      weighted_sum(fused).backward();
      std::vector<Tensor> grads{in.x.grad(), in.w.grad(), in.b.grad()};
      for (Tensor* t : {&in.x, &in.w, &in.b, &in.r}) t->zero_grad();
      weighted_sum(unfused(in, act, residual)).backward();
      expect_close(grads[0], in.x.grad(), 1e-5f, 1e-5f);
      expect_close(grads[1], in.w.grad(), 1e-5f, 1e-5f);
      expect_close(grads[2], in.b.grad(), 1e-5f, 1e-5f);
    }
}

TEST(FusedLinear, ResidualGradientMatchesFiniteDifferences) {
  Inputs in = make_inputs(true);
  expect_gradients_match([&] { return weighted_sum(ops::linear(in.x, in.w, in.b, ops::Activation::none, in.r)); },
                         {in.x, in.w, in.b, in.r});
}

TEST(FusedLinear, RejectsAResidualOfTheWrongShape) {
  const Inputs in = make_inputs(false);
  EXPECT_THROW(ops::linear(in.x, in.w, in.b, ops::Activation::none, Tensor::zeros({3, 5, 23})), std::invalid_argument);
}

TEST(FusedLinear, Bf16IsCloseToF32) {
  const Inputs in = make_inputs(false);
  NoGradGuard no_grad;
  const Tensor ref = ops::linear(in.x, in.w, in.b, ops::Activation::gelu, in.r);
  PrecisionGuard guard(MatmulPrecision::bf16);
  const Tensor low = ops::linear(in.x, in.w, in.b, ops::Activation::gelu, in.r);
  // bf16 keeps 8 significant bits: K = 16 products of O(1) inputs stay within a few 1e-2.
  expect_close(low, ref, 5e-2f, 2e-2f);
}

TEST(AttentionBf16, IsCloseToF32) {
  Rng rng(6);
  const Tensor q = Tensor::randn({2, 2, 8, 16}, rng), k = Tensor::randn({2, 2, 8, 16}, rng),
               v = Tensor::randn({2, 2, 8, 16}, rng);
  NoGradGuard no_grad;
  const Tensor ref = ops::scaled_dot_product_attention(q, k, v);
  PrecisionGuard guard(MatmulPrecision::bf16);
  expect_close(ops::scaled_dot_product_attention(q, k, v), ref, 5e-2f, 2e-2f);
}

TEST(AccumulateGrad, AdoptedTemporaryIsNotSharedWithALaterGradient) {
  // y = x * 2 + x: both paths feed x's gradient; the first one may be adopted without a copy, the
  // second must then be added into it, not alias it.
  Rng rng(8);
  Tensor x = Tensor::randn({4, 4}, rng).set_requires_grad();
  Tensor y = ops::add(ops::linear(x, Tensor::ones({4, 4})), x);
  weighted_sum(y).backward();
  Tensor g1 = x.grad().clone();
  x.zero_grad();
  weighted_sum(ops::add(ops::matmul(x, Tensor::ones({4, 4}), false, true), x)).backward();
  expect_close(x.grad(), g1, 1e-6f, 1e-6f);
  expect_gradients_match([&] { return weighted_sum(ops::add(ops::linear(x, Tensor::ones({4, 4})), x)); }, {x});
}

}  // namespace
}  // namespace datamux
