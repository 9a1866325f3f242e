// Table of sum/mean reductions: dims at the end, at the front, in the middle, non-adjacent, negative,
// all; with and without keepdim; on contiguous, transposed and sliced inputs. Forward against a naive
// accumulation loop, gradients against finite differences.
#include <datamux/ops.hpp>
#include <fmt/format.h>
#include <gradcheck.hpp>

#include <cmath>
#include <stdexcept>

#include "op_test_util.hpp"

using namespace datamux;
using namespace datamux::testing;

namespace {

struct ReduceCase {
  const char* name;
  Shape shape;
  std::vector<int64_t> dims;  // empty: all
};

const std::vector<ReduceCase>& cases() {
  static const std::vector<ReduceCase> table = {
      {"last", {3, 5}, {1}},
      {"first", {4, 3}, {0}},
      {"middle", {2, 3, 4}, {1}},
      {"leading_pair", {2, 3, 4}, {0, 1}},
      {"trailing_pair", {2, 3, 4}, {1, 2}},
      {"non_adjacent", {2, 3, 4}, {0, 2}},
      {"negative", {3, 2, 4}, {-1, -3}},
      {"all_empty_list", {3, 4}, {}},
      {"all_listed", {2, 2, 3}, {0, 1, 2}},
      {"size_one_dim", {3, 1, 4}, {1}},
      {"vector", {7}, {0}},
      {"rank4_mixed", {2, 3, 2, 3}, {1, 3}},
      {"wide_rows", {3, 300}, {0}},  // more than one 256-column chunk in the column-sum kernel
  };
  return table;
}

// Naive reference: out[kept index] += x[index] over every element.
std::vector<float> naive_sum(const Tensor& x, const std::vector<int64_t>& dims_in, bool mean) {
  const int64_t r = x.dim();
  std::vector<bool> red(static_cast<std::size_t>(r), dims_in.empty());
  for (int64_t d : dims_in) red[static_cast<std::size_t>(d < 0 ? d + r : d)] = true;
  Shape kept;
  int64_t count = 1;
  for (int64_t i = 0; i < r; ++i) {
    kept.push_back(red[i] ? 1 : x.shape()[i]);
    if (red[i]) count *= x.shape()[i];
  }
  std::vector<double> acc(static_cast<std::size_t>(shape_numel(kept)), 0.0);
  const Shape kst = contiguous_strides(kept);
  for_each_index(x.shape(), [&](const std::vector<int64_t>& idx) {
    int64_t off = 0;
    for (int64_t i = 0; i < r; ++i) off += (red[i] ? 0 : idx[i]) * kst[i];
    acc[static_cast<std::size_t>(off)] += x.at(idx);
  });
  std::vector<float> out(acc.size());
  for (std::size_t i = 0; i < acc.size(); ++i) out[i] = static_cast<float>(mean ? acc[i] / count : acc[i]);
  return out;
}

Shape expected_shape(const Shape& s, const std::vector<int64_t>& dims_in, bool keepdim) {
  const int64_t r = static_cast<int64_t>(s.size());
  std::vector<bool> red(s.size(), dims_in.empty());
  for (int64_t d : dims_in) red[static_cast<std::size_t>(d < 0 ? d + r : d)] = true;
  Shape out;
  for (int64_t i = 0; i < r; ++i) {
    if (!red[i]) out.push_back(s[i]);
    else if (keepdim) out.push_back(1);
  }
  return out;
}

using Param = std::tuple<ReduceCase, bool /*mean*/, bool /*keepdim*/, Layout>;

class ReduceOp : public ::testing::TestWithParam<Param> {};

TEST_P(ReduceOp, ForwardMatchesNaiveLoopAndGradientsMatchFiniteDifferences) {
  const auto& [c, is_mean, keepdim, layout] = GetParam();
  Rng rng(std::hash<std::string>{}(c.name) + (is_mean ? 1 : 0) + (keepdim ? 2 : 0));
  Tensor x = make_leaf(c.shape, layout, Domain::Normal, rng);
  auto run = [&] {
    Tensor v = view_of(x, c.shape, layout);
    return is_mean ? ops::mean(v, c.dims, keepdim) : ops::sum(v, c.dims, keepdim);
  };
  Tensor y = run();
  EXPECT_EQ(y.shape(), expected_shape(c.shape, c.dims, keepdim));
  std::vector<float> want = naive_sum(view_of(x, c.shape, layout).detach(), c.dims, is_mean);
  std::vector<float> got = y.to_vector();
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-5f + 1e-5f * std::fabs(want[i])) << i;
  if (x.numel() <= 400) expect_gradients_match([&] { return weighted_sum(run()); }, {x});
}

std::string param_name(const ::testing::TestParamInfo<Param>& info) {
  const auto& [c, is_mean, keepdim, layout] = info.param;
  return fmt::format("{}_{}_{}_{}", is_mean ? "mean" : "sum", c.name, keepdim ? "keep" : "drop", layout_name(layout));
}

INSTANTIATE_TEST_SUITE_P(Table, ReduceOp,
                         ::testing::Combine(::testing::ValuesIn(cases()), ::testing::Bool(), ::testing::Bool(),
                                            ::testing::Values(Layout::Contiguous, Layout::Transposed, Layout::Sliced)),
                         param_name);

TEST(Reduce, WideColumnSumGradient) {
  // The table skips gradchecks above 400 elements; check the 256-column chunk boundary directly.
  Rng rng(5);
  Tensor x = Tensor::randn({2, 260}, rng).set_requires_grad();
  expect_gradients_match([&] { return weighted_sum(ops::sum(x, {0})); }, {x});
}

TEST(Reduce, ScalarInputSumsToItself) {
  Tensor s = Tensor::scalar(2.5f).set_requires_grad();
  EXPECT_FLOAT_EQ(ops::sum(s).item(), 2.5f);
  EXPECT_FLOAT_EQ(ops::sum(s, {0}).item(), 2.5f);
  EXPECT_FLOAT_EQ(ops::mean(s, {-1}).item(), 2.5f);
  expect_gradients_match([&] { return ops::mul(ops::mean(s, {0}), 3.f); }, {s});
}

TEST(Reduce, EmptyReducedDimGivesZeros) {
  Tensor x = Tensor::zeros({3, 0});
  Tensor y = ops::sum(x, {1});
  EXPECT_EQ(y.shape(), (Shape{3}));
  EXPECT_EQ(y.to_vector(), (std::vector<float>{0, 0, 0}));
}

TEST(Reduce, OutOfRangeDimThrows) {
  EXPECT_THROW(ops::sum(Tensor::ones({2, 3}), {2}), std::invalid_argument);
  EXPECT_THROW(ops::mean(Tensor::ones({2, 3}), {-3}), std::invalid_argument);
}

}  // namespace
