// layer_norm: forward against a naive double-precision loop, gradients for x, weight and bias against
// finite differences (small shapes) and against a naive analytic backward (a shape large enough for
// the per-thread partial sums), with every combination of weight/bias present.
#include <datamux/ops.hpp>
#include <fmt/format.h>
#include <gradcheck.hpp>

#include <cmath>
#include <stdexcept>

#include "op_test_util.hpp"

using namespace datamux;
using namespace datamux::testing;

namespace {

struct NaiveLayerNorm {
  std::vector<double> y, dx, dw, db;
};

// Forward and (for upstream gradient g) backward of layer norm over the last dim, in double.
NaiveLayerNorm naive_layer_norm(const std::vector<float>& x, const std::vector<float>& w, const std::vector<float>& b,
                                const std::vector<float>& g, int64_t d, double eps) {
  const int64_t rows = static_cast<int64_t>(x.size()) / d;
  NaiveLayerNorm r;
  r.y.resize(x.size());
  r.dx.resize(x.size());
  r.dw.assign(d, 0.0);
  r.db.assign(d, 0.0);
  for (int64_t i = 0; i < rows; ++i) {
    double mean = 0, var = 0;
    for (int64_t k = 0; k < d; ++k) mean += x[i * d + k];
    mean /= d;
    for (int64_t k = 0; k < d; ++k) var += (x[i * d + k] - mean) * (x[i * d + k] - mean);
    var /= d;
    const double rstd = 1.0 / std::sqrt(var + eps);
    double s1 = 0, s2 = 0;
    for (int64_t k = 0; k < d; ++k) {
      const double xh = (x[i * d + k] - mean) * rstd;
      const double wk = w.empty() ? 1.0 : w[k];
      r.y[i * d + k] = xh * wk + (b.empty() ? 0.0 : b[k]);
      if (g.empty()) continue;
      const double gw = g[i * d + k] * wk;
      s1 += gw;
      s2 += gw * xh;
      r.dw[k] += g[i * d + k] * xh;
      r.db[k] += g[i * d + k];
    }
    if (g.empty()) continue;
    for (int64_t k = 0; k < d; ++k) {
      const double xh = (x[i * d + k] - mean) * rstd;
      const double gw = g[i * d + k] * (w.empty() ? 1.0 : w[k]);
      r.dx[i * d + k] = rstd * (gw - s1 / d - xh * s2 / d);
    }
  }
  return r;
}

struct LayerNormCase {
  const char* name;
  Shape shape;
  bool weight, bias;
};

const std::vector<LayerNormCase>& cases() {
  static const std::vector<LayerNormCase> table = {
      {"affine", {4, 6}, true, true},        {"weight_only", {3, 5}, true, false},
      {"bias_only", {3, 5}, false, true},    {"plain", {2, 3, 4}, false, false},
      {"rank3_affine", {2, 3, 7}, true, true}, {"vector", {9}, true, true},
      {"width_one", {3, 1}, true, true},  // zero variance: output is the bias
      {"wide", {2, 40}, true, true},
  };
  return table;
}

using Param = std::tuple<LayerNormCase, Layout>;

class LayerNormOp : public ::testing::TestWithParam<Param> {};

TEST_P(LayerNormOp, ForwardMatchesNaiveLoopAndGradientsMatchFiniteDifferences) {
  const auto& [c, layout] = GetParam();
  Rng rng(std::hash<std::string>{}(c.name) + static_cast<uint64_t>(layout));
  const int64_t d = c.shape.back();
  Tensor x = make_leaf(c.shape, layout, Domain::Normal, rng);
  Tensor w = c.weight ? Tensor::uniform({d}, rng, 0.5f, 1.5f).set_requires_grad() : Tensor();
  Tensor b = c.bias ? Tensor::randn({d}, rng).set_requires_grad() : Tensor();
  auto run = [&] { return ops::layer_norm(view_of(x, c.shape, layout), w, b); };
  Tensor y = run();
  ASSERT_EQ(y.shape(), c.shape);
  NaiveLayerNorm ref = naive_layer_norm(view_of(x, c.shape, layout).to_vector(), w.defined() ? w.to_vector() : std::vector<float>{},
                                        b.defined() ? b.to_vector() : std::vector<float>{}, {}, d, 1e-5);
  std::vector<float> got = y.to_vector();
  for (std::size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], ref.y[i], 2e-5 + 1e-5 * std::fabs(ref.y[i])) << i;
  std::vector<Tensor> inputs{x};
  if (w.defined()) inputs.push_back(w);
  if (b.defined()) inputs.push_back(b);
  // d = 1 normalises to a constant, so x gets an exactly-zero gradient: finite differences agree.
  expect_gradients_match([&] { return weighted_sum(run()); }, inputs, 1e-2f, 3e-3f, 2e-2f);
}

std::string param_name(const ::testing::TestParamInfo<Param>& info) {
  const auto& [c, layout] = info.param;
  return fmt::format("{}_{}", c.name, layout_name(layout));
}

INSTANTIATE_TEST_SUITE_P(Table, LayerNormOp,
                         ::testing::Combine(::testing::ValuesIn(cases()),
                                            ::testing::Values(Layout::Contiguous, Layout::Transposed, Layout::Sliced)),
                         param_name);

TEST(LayerNorm, ParallelBackwardMatchesNaiveBackward) {
  // 300 rows x 96: above the OpenMP threshold, so dweight/dbias go through per-thread partial sums.
  Rng rng(11);
  const int64_t rows = 300, d = 96;
  Tensor x = Tensor::randn({rows, d}, rng, 0.5f, 2.f).set_requires_grad();
  Tensor w = Tensor::randn({d}, rng).set_requires_grad();
  Tensor b = Tensor::randn({d}, rng).set_requires_grad();
  Tensor g = Tensor::randn({rows, d}, rng);
  Tensor y = ops::layer_norm(x, w, b, 1e-5f);
  y.backward(g);
  NaiveLayerNorm ref = naive_layer_norm(x.to_vector(), w.to_vector(), b.to_vector(), g.to_vector(), d, 1e-5);
  auto check = [](const Tensor& t, const std::vector<double>& want, double tol, const char* what) {
    std::vector<float> got = t.to_vector();
    ASSERT_EQ(got.size(), want.size()) << what;
    for (std::size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], want[i], tol * (1.0 + std::fabs(want[i]))) << what << " " << i;
  };
  check(y, ref.y, 1e-5, "y");
  check(x.grad(), ref.dx, 1e-4, "dx");
  check(w.grad(), ref.dw, 1e-4, "dweight");
  check(b.grad(), ref.db, 1e-4, "dbias");

  // Deterministic: a second backward gives bit-identical parameter gradients.
  std::vector<float> dw1 = w.grad().to_vector();
  w.zero_grad();
  ops::layer_norm(x, w, b, 1e-5f).backward(g);
  EXPECT_EQ(w.grad().to_vector(), dw1);
}

TEST(LayerNorm, LargeMeanDoesNotCancelTheVariance) {
  // One-pass variance of values near 1e4: a naive E[x^2] - E[x]^2 in f32 loses all digits here.
  Rng rng(12);
  Tensor x = Tensor::randn({4, 64}, rng, 1e4f, 1.f);
  Tensor y = ops::layer_norm(x, Tensor(), Tensor());
  NaiveLayerNorm ref = naive_layer_norm(x.to_vector(), {}, {}, {}, 64, 1e-5);
  std::vector<float> got = y.to_vector();
  for (std::size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], ref.y[i], 5e-3) << i;
}

TEST(LayerNorm, OnlyParametersRequireGrad) {
  Rng rng(13);
  Tensor x = Tensor::randn({3, 4}, rng);
  Tensor w = Tensor::ones({4}).set_requires_grad();
  Tensor b = Tensor::zeros({4}).set_requires_grad();
  expect_gradients_match([&] { return weighted_sum(ops::layer_norm(x, w, b)); }, {w, b});
}

TEST(LayerNorm, WrongParameterShapeThrowsNamingIt) {
  try {
    ops::layer_norm(Tensor::ones({2, 4}), Tensor::ones({3}), Tensor());
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("weight"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("[3]"), std::string::npos) << e.what();
  }
  EXPECT_THROW(ops::layer_norm(Tensor::ones({2, 4}), Tensor(), Tensor::ones({4, 1})), std::invalid_argument);
  EXPECT_THROW(ops::layer_norm(Tensor::scalar(1.f), Tensor(), Tensor()), std::invalid_argument);
}

}  // namespace
