// softmax / log_softmax over every dim: forward against a naive double-precision loop, gradients
// against finite differences, numerical stability and masking (-inf) behaviour.
#include <datamux/ops.hpp>
#include <fmt/format.h>
#include <gradcheck.hpp>

#include <cmath>
#include <limits>

#include "op_test_util.hpp"

using namespace datamux;
using namespace datamux::testing;

namespace {

// Naive softmax along dim in double: for every output index, loop over the dim.
std::vector<float> naive_softmax(const Tensor& x, int64_t dim, bool log) {
  const int64_t r = x.dim();
  const int64_t d = dim < 0 ? dim + r : dim;
  std::vector<float> out;
  for_each_index(x.shape(), [&](const std::vector<int64_t>& idx) {
    std::vector<int64_t> j = idx;
    double mx = -INFINITY;
    for (j[d] = 0; j[d] < x.shape()[d]; ++j[d]) mx = std::max(mx, static_cast<double>(x.at(j)));
    double s = 0;
    for (j[d] = 0; j[d] < x.shape()[d]; ++j[d]) s += std::exp(static_cast<double>(x.at(j)) - mx);
    const double v = static_cast<double>(x.at(idx)) - mx;
    out.push_back(static_cast<float>(log ? v - std::log(s) : std::exp(v) / s));
  });
  return out;
}

struct SoftmaxCase {
  const char* name;
  Shape shape;
  int64_t dim;
};

const std::vector<SoftmaxCase>& cases() {
  static const std::vector<SoftmaxCase> table = {
      {"row", {4, 7}, -1},        {"column", {5, 3}, 0},           {"middle", {2, 4, 3}, 1},
      {"first_of_3", {3, 2, 4}, 0}, {"last_of_4", {2, 2, 3, 5}, 3}, {"vector", {6}, 0},
      {"single", {3, 1}, 1},      {"wide_inner", {2, 3, 70}, 1},  // inner > one 64-column block
      {"long_row", {2, 130}, 1},
  };
  return table;
}

using Param = std::tuple<SoftmaxCase, bool /*log*/, Layout>;

class SoftmaxOp : public ::testing::TestWithParam<Param> {};

TEST_P(SoftmaxOp, ForwardMatchesNaiveLoopAndGradientsMatchFiniteDifferences) {
  const auto& [c, log, layout] = GetParam();
  Rng rng(std::hash<std::string>{}(c.name) + (log ? 1 : 0));
  Tensor x = make_leaf(c.shape, layout, Domain::Normal, rng);
  auto run = [&] {
    Tensor v = view_of(x, c.shape, layout);
    return log ? ops::log_softmax(v, c.dim) : ops::softmax(v, c.dim);
  };
  Tensor y = run();
  ASSERT_EQ(y.shape(), c.shape);
  std::vector<float> want = naive_softmax(view_of(x, c.shape, layout).detach(), c.dim, log);
  std::vector<float> got = y.to_vector();
  for (std::size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], want[i], 1e-6f + 2e-6f * std::fabs(want[i])) << i;
  // log-probabilities of long rows are large negative numbers whose f32 sum drowns a finite
  // difference in rounding; the check goes through exp (upstream gradient w * p) for log_softmax.
  expect_gradients_match([&] { return weighted_sum(log ? ops::exp(run()) : run()); }, {x});
}

std::string param_name(const ::testing::TestParamInfo<Param>& info) {
  const auto& [c, log, layout] = info.param;
  return fmt::format("{}_{}_{}", log ? "log_softmax" : "softmax", c.name, layout_name(layout));
}

INSTANTIATE_TEST_SUITE_P(Table, SoftmaxOp,
                         ::testing::Combine(::testing::ValuesIn(cases()), ::testing::Bool(),
                                            ::testing::Values(Layout::Contiguous, Layout::Transposed, Layout::Sliced)),
                         param_name);

TEST(Softmax, TwoWaySoftmaxIsTheLogisticAcrossTheExpRange) {
  // softmax([0, t])[1] = 1 / (1 + e^-t): checks the vectorised exp from e^-87 to e^87.
  for (float t = -86.f; t <= 86.f; t += 0.37f) {
    Tensor y = ops::softmax(Tensor::from_vector({0.f, t}, {1, 2}));
    const double want = 1.0 / (1.0 + std::exp(-static_cast<double>(t)));
    ASSERT_NEAR(y.at({0, 1}), want, 4e-7 * want) << "t = " << t;
  }
}

TEST(Softmax, LargeLogitsAreStable) {
  Tensor x = Tensor::from_vector({1000.f, 1001.f, 1002.f, -1000.f}, {1, 4});
  std::vector<float> y = ops::softmax(x).to_vector();
  std::vector<float> ref = ops::softmax(Tensor::from_vector({0.f, 1.f, 2.f, -2000.f}, {1, 4})).to_vector();
  for (std::size_t i = 0; i < y.size(); ++i) EXPECT_NEAR(y[i], ref[i], 1e-6f);
  EXPECT_FLOAT_EQ(y[3], 0.f);
  std::vector<float> ly = ops::log_softmax(x).to_vector();
  EXPECT_TRUE(std::isfinite(ly[0]));
  EXPECT_NEAR(ly[2], -std::log(1.f + std::exp(-1.f) + std::exp(-2.f)), 1e-4f);  // f32 ulp at 1002 is 6e-5
}

TEST(Softmax, MinusInfinityMasksToExactZero) {
  const float inf = std::numeric_limits<float>::infinity();
  Tensor y = ops::softmax(Tensor::from_vector({0.5f, -inf, 0.5f, -inf}, {4}), 0);
  EXPECT_EQ(y.to_vector(), (std::vector<float>{0.5f, 0.f, 0.5f, 0.f}));
}

TEST(Softmax, RowsSumToOneAndNaNPropagates) {
  Rng rng(4);
  Tensor y = ops::softmax(Tensor::randn({8, 33}, rng, 0.f, 5.f));
  std::vector<float> s = ops::sum(y, {1}).to_vector();
  for (float v : s) EXPECT_NEAR(v, 1.f, 1e-6f);
  Tensor n = ops::softmax(Tensor::from_vector({1.f, NAN, 2.f}, {3}));
  for (float v : n.to_vector()) EXPECT_TRUE(std::isnan(v));
}

TEST(Softmax, ScalarInputIsOne) {
  EXPECT_FLOAT_EQ(ops::softmax(Tensor::scalar(3.f)).item(), 1.f);
  EXPECT_FLOAT_EQ(ops::log_softmax(Tensor::scalar(3.f)).item(), 0.f);
}

TEST(Softmax, BadDimThrows) {
  EXPECT_THROW(ops::softmax(Tensor::ones({2, 3}), 2), std::invalid_argument);
  EXPECT_THROW(ops::log_softmax(Tensor::from_ints({1, 2}, {2})), std::invalid_argument);
}

TEST(Softmax, LargeParallelBackwardMatchesComposedOps) {
  // Big enough for the OpenMP path: closed-form backward against exp/sum/mul composition.
  Rng rng(9);
  Tensor x = Tensor::randn({64, 300}, rng).set_requires_grad();
  Tensor w = Tensor::randn({64, 300}, rng);
  ops::sum(ops::mul(ops::softmax(x, 1), w)).backward();
  Tensor g1 = x.grad();
  x.zero_grad();
  Tensor e = ops::exp(x);
  ops::sum(ops::mul(ops::div(e, ops::sum(e, {1}, true)), w)).backward();
  expect_close(g1, x.grad(), 1e-6f, 1e-4f);
}

}  // namespace
