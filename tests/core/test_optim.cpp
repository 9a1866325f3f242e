// Optimizer steps against values worked out by hand (torch.optim update rules), state for resuming,
// and gradient clipping.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <datamux/core/optim.hpp>
#include <datamux/ops.hpp>
#include <datamux/options.hpp>
#include <limits>
#include <map>

using namespace datamux;
using ::testing::HasSubstr;

namespace {

Tensor param(const std::vector<float>& v) {
  return Tensor::from_vector(v, {static_cast<int64_t>(v.size())}).set_requires_grad(true);
}

// Gives p the gradient g (as backward would), replacing any earlier one.
void set_grad(Tensor& p, const std::vector<float>& g) {
  p.zero_grad();
  accumulate_grad(p, Tensor::from_vector(g, p.shape()));
}

// Loss 0.5 * sum(p^2): its gradient is p itself, so every SGD iterate is a multiple c_k of p0.
void backward_half_square(const Tensor& p) { ops::mul(ops::sum(ops::square(p)), 0.5f).backward(); }

void expect_multiple_of(const Tensor& p, const std::vector<float>& p0, double c, double tol = 1e-6) {
  std::vector<float> v = p.to_vector();
  ASSERT_EQ(v.size(), p0.size());
  for (std::size_t i = 0; i < v.size(); ++i) EXPECT_NEAR(v[i], c * p0[i], tol) << "element " << i;
}

void run_sgd(SGD& opt, Tensor& p, int steps) {
  for (int s = 0; s < steps; ++s) {
    opt.zero_grad();
    backward_half_square(p);
    opt.step();
  }
}

}  // namespace

TEST(SGD, PlainStepWithWeightDecay) {
  // d = g + wd*p = 1.1 p, so p_k = (1 - 0.1*1.1)^k p0 = 0.89^k p0.
  const std::vector<float> p0{1.f, -2.f, 0.5f};
  Tensor p = param(p0);
  SGD opt({{"p", p}}, {.lr = 0.1f, .weight_decay = 0.1f});
  run_sgd(opt, p, 3);
  expect_multiple_of(p, p0, 0.89 * 0.89 * 0.89);
}

TEST(SGD, MomentumWithWeightDecayMatchesHandValues) {
  // lr 0.1, momentum 0.9, wd 0.1, g = p, so d = 1.1 c p0 and every buffer is a multiple of p0:
  //   step 1: b = d = 1.1 (first step copies d);         c1 = 1 - 0.1*1.1            = 0.89
  //   step 2: d = 1.1*0.89 = 0.979; b = 0.9*1.1 + 0.979  = 1.969;   c2 = 0.89 - 0.1969 = 0.6931
  //   step 3: d = 1.1*0.6931 = 0.76241; b = 0.9*1.969 + 0.76241 = 2.53451; c3 = 0.6931 - 0.253451 = 0.439649
  const std::vector<float> p0{1.f, -2.f, 0.5f};
  Tensor p = param(p0);
  SGD opt({{"p", p}}, {.lr = 0.1f, .momentum = 0.9f, .weight_decay = 0.1f});
  run_sgd(opt, p, 1);
  expect_multiple_of(p, p0, 0.89);
  run_sgd(opt, p, 1);
  expect_multiple_of(p, p0, 0.6931);
  run_sgd(opt, p, 1);
  expect_multiple_of(p, p0, 0.439649);
  NamedTensors st = opt.state();
  ASSERT_EQ(st.size(), 2u);
  EXPECT_EQ(st[0].first, "p.step");
  EXPECT_EQ(st[0].second.to_ints(), std::vector<int32_t>{3});
  EXPECT_EQ(st[1].first, "p.momentum_buffer");
  expect_multiple_of(st[1].second, p0, 2.53451, 1e-5);
}

TEST(SGD, NesterovMatchesHandValues) {
  // As above, but the step is d + 0.9*b:
  //   step 1: d = b = 1.1; step 1.1 + 0.99 = 2.09;                  c1 = 1 - 0.209 = 0.791
  //   step 2: d = 0.8701; b = 0.99 + 0.8701 = 1.8601; step 0.8701 + 1.67409 = 2.54419; c2 = 0.536581
  const std::vector<float> p0{1.f, -2.f, 0.5f};
  Tensor p = param(p0);
  SGD opt({{"p", p}}, {.lr = 0.1f, .momentum = 0.9f, .weight_decay = 0.1f, .nesterov = true});
  run_sgd(opt, p, 1);
  expect_multiple_of(p, p0, 0.791);
  run_sgd(opt, p, 1);
  expect_multiple_of(p, p0, 0.536581);
}

TEST(SGD, DampeningSkipsTheFirstStep) {
  // momentum 0.9, dampening 0.5, no wd: step 1 b = g = 1 (undampened), c1 = 0.9;
  // step 2 b = 0.9*1 + 0.5*0.9 = 1.35, c2 = 0.9 - 0.135 = 0.765.
  const std::vector<float> p0{2.f, -1.f};
  Tensor p = param(p0);
  SGD opt({{"p", p}}, {.lr = 0.1f, .momentum = 0.9f, .dampening = 0.5f});
  run_sgd(opt, p, 2);
  expect_multiple_of(p, p0, 0.765);
}

TEST(SGD, RejectsBadHyperparameters) {
  Tensor p = param({1.f});
  EXPECT_THROW(SGD({{"p", p}}, {.lr = -1.f}), std::invalid_argument);
  EXPECT_THROW(SGD({{"p", p}}, {.momentum = -0.1f}), std::invalid_argument);
  EXPECT_THROW(SGD({{"p", p}}, {.weight_decay = -0.1f}), std::invalid_argument);
  EXPECT_THROW(SGD({{"p", p}}, {.nesterov = true}), std::invalid_argument);
  EXPECT_THROW(SGD({{"p", p}}, {.momentum = 0.9f, .dampening = 0.1f, .nesterov = true}), std::invalid_argument);
  Tensor strided = Tensor::arange(6).reshape({2, 3}).transpose(0, 1);
  EXPECT_THROW(SGD({{"s", strided}}), std::invalid_argument);
  EXPECT_THROW(SGD({{"i", Tensor::from_ints({1, 2}, {2})}}), std::invalid_argument);
}

TEST(AdamW, ConstantGradientClosedForm) {
  // With a constant g, m_t = (1-b1^t) g and v_t = (1-b2^t) g^2, so bias correction gives exactly
  // m^ = g, v^ = g^2 and each step is p <- (1 - lr*wd) p - lr * g/(|g| + eps) = 0.99 p - 0.1 sign(g):
  //   1     -> 0.89    -> 0.7811   -> 0.673289
  //   -2    -> -1.88   -> -1.7612  -> -1.643588
  //   0.5   -> 0.395   -> 0.29105  -> 0.1881395
  Tensor p = param({1.f, -2.f, 0.5f});
  AdamW opt({{"p", p}}, {.lr = 0.1f, .weight_decay = 0.1f});
  const std::vector<std::vector<float>> expected{
      {0.89f, -1.88f, 0.395f}, {0.7811f, -1.7612f, 0.29105f}, {0.673289f, -1.643588f, 0.1881395f}};
  for (const auto& want : expected) {
    set_grad(p, {0.5f, -1.f, 2.f});
    opt.step();
    std::vector<float> got = p.to_vector();
    for (std::size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 2e-6) << "element " << i;
  }
}

TEST(AdamW, ChangingGradientsMatchTheUpdateRule) {
  // Two steps with g1 = [1, -2], g2 = [3, 0.5]; PyTorch defaults beta 0.9/0.999, eps 1e-8, wd 0.
  const double lr = 0.01, b1 = 0.9, b2 = 0.999, eps = 1e-8;
  const double g1[2] = {1.0, -2.0}, g2[2] = {3.0, 0.5}, p0[2] = {0.3, -0.7};
  Tensor p = param({0.3f, -0.7f});
  AdamW opt({{"w", p}}, {.lr = 0.01f, .weight_decay = 0.f});
  set_grad(p, {1.f, -2.f});
  opt.step();
  set_grad(p, {3.f, 0.5f});
  opt.step();
  std::vector<float> got = p.to_vector();
  for (int i = 0; i < 2; ++i) {
    // Step 1: m = 0.1 g1, v = 0.001 g1^2; bias-corrected to g1 and g1^2.
    const double m1 = (1 - b1) * g1[i], v1 = (1 - b2) * g1[i] * g1[i];
    const double p1 = p0[i] - lr * (m1 / (1 - b1)) / (std::sqrt(v1 / (1 - b2)) + eps);
    // Step 2: corrections 1 - 0.9^2 = 0.19 and 1 - 0.999^2 = 0.001999.
    const double m2 = b1 * m1 + (1 - b1) * g2[i], v2 = b2 * v1 + (1 - b2) * g2[i] * g2[i];
    const double p2 = p1 - lr * (m2 / 0.19) / (std::sqrt(v2 / 0.001999) + eps);
    EXPECT_NEAR(got[i], p2, 1e-6) << "element " << i;
  }
  // The moments are what the rule says after two steps.
  NamedTensors st = opt.state();
  ASSERT_EQ(st.size(), 3u);
  EXPECT_EQ(st[1].first, "w.exp_avg");
  EXPECT_EQ(st[2].first, "w.exp_avg_sq");
  EXPECT_NEAR(st[1].second.to_vector()[0], 0.9 * 0.1 * 1.0 + 0.1 * 3.0, 1e-6);
  EXPECT_NEAR(st[2].second.to_vector()[1], 0.999 * 0.001 * 4.0 + 0.001 * 0.25, 1e-7);
}

TEST(AdamW, RejectsBadHyperparameters) {
  Tensor p = param({1.f});
  EXPECT_THROW(AdamW({{"p", p}}, {.beta1 = 1.f}), std::invalid_argument);
  EXPECT_THROW(AdamW({{"p", p}}, {.beta2 = -0.1f}), std::invalid_argument);
  EXPECT_THROW(AdamW({{"p", p}}, {.eps = -1.f}), std::invalid_argument);
  AdamW ok({{"p", p}});
  EXPECT_THROW(ok.set_lr(-1.0), std::invalid_argument);
  EXPECT_THROW(ok.set_lr(std::numeric_limits<double>::quiet_NaN()), std::invalid_argument);
}

TEST(Optimizer, ParametersWithoutGradientAreSkipped) {
  Tensor a = param({1.f, 2.f}), b = param({3.f});
  AdamW opt({{"a", a}, {"b", b}}, {.lr = 0.1f});
  set_grad(a, {1.f, 1.f});
  opt.step();
  EXPECT_EQ(b.to_vector(), std::vector<float>{3.f});  // not even weight decay touched it
  EXPECT_NE(a.to_vector()[0], 1.f);
  EXPECT_EQ(opt.steps(0), 1);
  EXPECT_EQ(opt.steps(1), 0);
  NamedTensors st = opt.state();
  ASSERT_EQ(st.size(), 3u);  // only a's step and moments
  EXPECT_EQ(st[0].first, "a.step");
}

TEST(Optimizer, ZeroGradClearsGradients) {
  Tensor p = param({1.f, 2.f});
  SGD opt({{"p", p}}, {.lr = 0.1f});
  set_grad(p, {1.f, 1.f});
  ASSERT_TRUE(p.grad().defined());
  opt.zero_grad();
  EXPECT_FALSE(p.grad().defined());
  opt.step();  // nothing to do
  EXPECT_EQ(p.to_vector(), (std::vector<float>{1.f, 2.f}));
}

TEST(Optimizer, SharedTensorIsUpdatedOnce) {
  Tensor p = param({1.f});
  SGD opt({{"tied.a", p}, {"tied.b", p}}, {.lr = 0.5f});
  ASSERT_EQ(opt.params().size(), 1u);
  EXPECT_EQ(opt.params()[0].first, "tied.a");
  set_grad(p, {1.f});
  opt.step();
  EXPECT_FLOAT_EQ(p.item(), 0.5f);
}

TEST(Optimizer, SetLrTakesEffectOnTheNextStep) {
  Tensor p = param({1.f});
  SGD opt({{"p", p}}, {.lr = 0.1f});
  opt.set_lr(0.25);
  EXPECT_DOUBLE_EQ(opt.lr(), 0.25);
  set_grad(p, {2.f});
  opt.step();
  EXPECT_FLOAT_EQ(p.item(), 0.5f);
}

TEST(Optimizer, StateIsAllocatedOnceAndReusedAcrossSteps) {
  Tensor p = param({1.f, 2.f, 3.f});
  AdamW opt({{"p", p}});
  set_grad(p, {1.f, 1.f, 1.f});
  opt.step();
  const void* m = opt.state()[1].second.impl()->storage->data;
  const void* v = opt.state()[2].second.impl()->storage->data;
  for (int s = 0; s < 5; ++s) {
    set_grad(p, {1.f, -1.f, 0.5f});
    opt.step();
  }
  EXPECT_EQ(opt.state()[1].second.impl()->storage->data, m);
  EXPECT_EQ(opt.state()[2].second.impl()->storage->data, v);
}

TEST(Optimizer, LoadStateResumesExactly) {
  // Run A for 3 steps, copy its state and parameters into B, then both take the same 2 more steps.
  Tensor pa = param({0.5f, -1.f, 2.f});
  AdamW a({{"p", pa}}, {.lr = 0.05f});
  const std::vector<std::vector<float>> grads{{1, 2, 3}, {-1, 0.5, 2}, {0.3, -0.2, 1}, {2, 2, -2}, {0.1, 0.1, 0.1}};
  for (int s = 0; s < 3; ++s) {
    set_grad(pa, grads[s]);
    a.step();
  }
  Tensor pb = param(pa.to_vector()), pc = param(pa.to_vector());
  AdamW b({{"p", pb}}, {.lr = 0.05f}), c({{"p", pc}}, {.lr = 0.05f});
  std::map<std::string, Tensor> saved;
  for (auto& [k, t] : a.state()) saved.emplace(k, t.clone());
  b.load_state(saved);
  EXPECT_EQ(b.steps(0), 3);
  for (int s = 3; s < 5; ++s) {
    for (Tensor* p : {&pa, &pb, &pc}) set_grad(*p, grads[s]);
    a.step();
    b.step();
    c.step();
  }
  EXPECT_EQ(pa.to_vector(), pb.to_vector());  // bit for bit
  EXPECT_NE(pa.to_vector(), pc.to_vector());  // without the state, the path differs
}

TEST(Optimizer, LoadStateRejectsWhatDoesNotFit) {
  Tensor p = param({1.f, 2.f});
  SGD opt({{"p", p}}, {.lr = 0.1f, .momentum = 0.9f});
  set_grad(p, {1.f, 1.f});
  opt.step();
  const std::vector<float> before = opt.state()[1].second.to_vector();
  const auto message = [&](const std::map<std::string, Tensor>& st) {
    try {
      opt.load_state(st);
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  Tensor step = Tensor::from_ints({4}, {});
  EXPECT_THAT(message({{"q.step", step}}), HasSubstr("q.step"));
  EXPECT_THAT(message({{"p.step", step}, {"p.momentum_buffer", Tensor::zeros({3})}}), HasSubstr("p.momentum_buffer"));
  EXPECT_THAT(message({{"p.step", step}}), HasSubstr("'p.momentum_buffer' is missing"));
  EXPECT_THAT(message({{"p.momentum_buffer", Tensor::zeros({2})}}), HasSubstr("'p.step' is missing"));
  EXPECT_THAT(message({{"p.step", Tensor::from_ints({-1}, {})}, {"p.momentum_buffer", Tensor::zeros({2})}}),
              HasSubstr("not a non-negative integer"));
  // Nothing changed by the failed loads.
  EXPECT_EQ(opt.steps(0), 1);
  EXPECT_EQ(opt.state()[1].second.to_vector(), before);
  // An empty state means "start afresh".
  opt.load_state({});
  EXPECT_EQ(opt.steps(0), 0);
  EXPECT_TRUE(opt.state().empty());
}

TEST(ClipGradNorm, ScalesDownToMaxNormAndReturnsTheTotal) {
  // Gradients [3, 4] and [12]: total norm sqrt(9 + 16 + 144) = 13.
  Tensor a = param({0.f, 0.f}), b = param({0.f}), none = param({5.f});
  set_grad(a, {3.f, 4.f});
  set_grad(b, {12.f});
  const float total = clip_grad_norm({a, b, none}, 6.5f);
  EXPECT_FLOAT_EQ(total, 13.f);
  const double k = 6.5 / (13.0 + 1e-6);
  EXPECT_NEAR(a.grad().to_vector()[0], 3 * k, 1e-6);
  EXPECT_NEAR(a.grad().to_vector()[1], 4 * k, 1e-6);
  EXPECT_NEAR(b.grad().to_vector()[0], 12 * k, 1e-6);
  EXPECT_FALSE(none.grad().defined());
}

TEST(ClipGradNorm, LeavesSmallGradientsAlone) {
  Tensor a = param({0.f, 0.f});
  set_grad(a, {3.f, 4.f});
  EXPECT_FLOAT_EQ(clip_grad_norm({a}, 5.1f), 5.f);
  EXPECT_EQ(a.grad().to_vector(), (std::vector<float>{3.f, 4.f}));
}

TEST(ClipGradNorm, InfinityNormAndNonFiniteGradients) {
  Tensor a = param({0.f, 0.f}), b = param({0.f});
  set_grad(a, {3.f, -8.f});
  set_grad(b, {2.f});
  EXPECT_FLOAT_EQ(clip_grad_norm({a, b}, 4.f, INFINITY), 8.f);
  EXPECT_NEAR(a.grad().to_vector()[1], -4.f, 1e-5);
  set_grad(b, {std::nanf("")});
  EXPECT_TRUE(std::isnan(clip_grad_norm({a, b}, 1.f)));
  set_grad(b, {std::nanf("")});
  EXPECT_TRUE(std::isnan(clip_grad_norm({b, a}, 1.f, INFINITY)));
  EXPECT_THROW(clip_grad_norm({a}, -1.f), std::invalid_argument);
}

TEST(ClipGradNorm, LargeTensorsUseTheParallelPath) {
  // 1e5 elements of 0.01: norm sqrt(1e5 * 1e-4) = sqrt(10).
  Tensor p = Tensor::zeros({100000}).set_requires_grad(true);
  accumulate_grad(p, Tensor::full({100000}, 0.01f));
  EXPECT_NEAR(clip_grad_norm({p}, 1.f), std::sqrt(10.0), 1e-4);
  std::vector<float> g = p.grad().to_vector();
  EXPECT_NEAR(g[0], 0.01 / std::sqrt(10.0), 1e-7);
  EXPECT_NEAR(g[99999], 0.01 / std::sqrt(10.0), 1e-7);
}
