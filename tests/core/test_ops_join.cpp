// concat, stack and split along every dim: values against index arithmetic, gradients against finite
// differences (including non-contiguous inputs), integer ids, and shape validation.
#include <datamux/ops.hpp>
#include <fmt/format.h>
#include <gradcheck.hpp>

#include <stdexcept>

#include "op_test_util.hpp"

using namespace datamux;
using namespace datamux::testing;

namespace {

using Index = std::vector<int64_t>;

class ConcatDim : public ::testing::TestWithParam<std::tuple<int64_t, Layout>> {};

TEST_P(ConcatDim, ValuesAndGradients) {
  const auto& [dim, layout] = GetParam();
  Rng rng(static_cast<uint64_t>(dim + 10 * static_cast<int>(layout)));
  const Shape base = {2, 3, 4};
  const int64_t d = dim < 0 ? dim + 3 : dim;
  std::vector<Shape> shapes;
  std::vector<Tensor> leaves;
  for (int64_t size : {1, 3, 2}) {
    Shape s = base;
    s[d] = size;
    shapes.push_back(s);
    leaves.push_back(make_leaf(s, layout, Domain::Normal, rng));
  }
  auto run = [&] {
    std::vector<Tensor> xs;
    for (std::size_t i = 0; i < leaves.size(); ++i) xs.push_back(view_of(leaves[i], shapes[i], layout));
    return ops::concat(xs, dim);
  };
  Tensor y = run();
  Shape want = base;
  want[d] = 6;
  ASSERT_EQ(y.shape(), want);
  for_each_index(y.shape(), [&](const Index& o) {
    Index i = o;
    std::size_t k = 0;
    while (i[d] >= shapes[k][d]) i[d] -= shapes[k++][d];
    ASSERT_EQ(y.at(o), view_of(leaves[k], shapes[k], layout).at(i));
  });
  expect_gradients_match([&] { return weighted_sum(run()); }, leaves);
}

INSTANTIATE_TEST_SUITE_P(AllDims, ConcatDim,
                         ::testing::Combine(::testing::Values(0, 1, 2, -1),
                                            ::testing::Values(Layout::Contiguous, Layout::Transposed, Layout::Sliced)),
                         [](const auto& info) {
                           const int64_t d = std::get<0>(info.param);
                           return fmt::format("dim{}{}_{}", d < 0 ? "_minus" : "", d < 0 ? -d : d,
                                              layout_name(std::get<1>(info.param)));
                         });

class StackDim : public ::testing::TestWithParam<std::tuple<int64_t, Layout>> {};

TEST_P(StackDim, ValuesAndGradients) {
  const auto& [dim, layout] = GetParam();
  Rng rng(static_cast<uint64_t>(dim + 100 + 10 * static_cast<int>(layout)));
  const Shape s = {3, 2};
  std::vector<Tensor> leaves;
  for (int i = 0; i < 3; ++i) leaves.push_back(make_leaf(s, layout, Domain::Normal, rng));
  auto run = [&] {
    std::vector<Tensor> xs;
    for (const Tensor& l : leaves) xs.push_back(view_of(l, s, layout));
    return ops::stack(xs, dim);
  };
  Tensor y = run();
  const int64_t d = dim < 0 ? dim + 3 : dim;
  Shape want = s;
  want.insert(want.begin() + d, 3);
  ASSERT_EQ(y.shape(), want);
  for_each_index(y.shape(), [&](const Index& o) {
    Index i = o;
    const int64_t k = i[d];
    i.erase(i.begin() + d);
    ASSERT_EQ(y.at(o), view_of(leaves[k], s, layout).at(i));
  });
  expect_gradients_match([&] { return weighted_sum(run()); }, leaves);
}

INSTANTIATE_TEST_SUITE_P(AllDims, StackDim,
                         ::testing::Combine(::testing::Values(0, 1, 2, -1, -3),
                                            ::testing::Values(Layout::Contiguous, Layout::Transposed, Layout::Sliced)),
                         [](const auto& info) {
                           const int64_t d = std::get<0>(info.param);
                           return fmt::format("dim{}{}_{}", d < 0 ? "_minus" : "", d < 0 ? -d : d,
                                              layout_name(std::get<1>(info.param)));
                         });

TEST(Split, PiecesAreViewsWithTheRightValues) {
  Tensor x = Tensor::arange(24).reshape({2, 6, 2});
  std::vector<Tensor> parts = ops::split(x, {1, 0, 3, 2}, 1);
  ASSERT_EQ(parts.size(), 4u);
  EXPECT_EQ(parts[0].shape(), (Shape{2, 1, 2}));
  EXPECT_EQ(parts[1].shape(), (Shape{2, 0, 2}));
  EXPECT_EQ(parts[2].shape(), (Shape{2, 3, 2}));
  EXPECT_EQ(parts[3].impl()->storage, x.impl()->storage);
  EXPECT_FLOAT_EQ(parts[2].at({1, 0, 1}), x.at({1, 1, 1}));
  EXPECT_FLOAT_EQ(parts[3].at({0, 1, 0}), x.at({0, 5, 0}));
}

TEST(Split, GradientsFlowToEveryUsedPiece) {
  Rng rng(3);
  Tensor x = Tensor::randn({4, 5}, rng).set_requires_grad();
  expect_gradients_match(
      [&] {
        std::vector<Tensor> p = ops::split(x.transpose(0, 1), {2, 1, 2}, -2);  // last piece unused
        return weighted_sum(ops::add(ops::mul(p[0], 2.f), ops::square(ops::concat({p[1], p[1]}, 0))));
      },
      {x});
}

TEST(Split, ConcatOfSplitIsTheInput) {
  Rng rng(4);
  Tensor x = Tensor::randn({3, 7}, rng);
  Tensor y = ops::concat(ops::split(x, {3, 4}, 1), 1);
  EXPECT_EQ(y.to_vector(), x.to_vector());
}

TEST(Join, IntegerIdsConcatenate) {
  // e.g. prefix tokens before a sequence of ids
  Tensor prefix = Tensor::from_ints({9, 9, 8, 8}, {2, 2});
  Tensor seq = Tensor::from_ints({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor y = ops::concat({prefix, seq}, 1);
  EXPECT_EQ(y.dtype(), DType::i32);
  EXPECT_EQ(y.to_ints(), (std::vector<int32_t>{9, 9, 1, 2, 3, 8, 8, 4, 5, 6}));
  EXPECT_EQ(ops::stack({prefix, prefix}, 0).to_ints(), (std::vector<int32_t>{9, 9, 8, 8, 9, 9, 8, 8}));
}

TEST(Join, LargeConcatMatchesElementwiseCopy) {
  // Above the parallel threshold.
  Rng rng(5);
  Tensor a = Tensor::randn({64, 300}, rng), b = Tensor::randn({64, 200}, rng);
  Tensor y = ops::concat({a, b}, 1);
  EXPECT_EQ(y.slice(1, 0, 300).contiguous().to_vector(), a.to_vector());
  EXPECT_EQ(y.slice(1, 300, 500).contiguous().to_vector(), b.to_vector());
}

TEST(Join, ScalarsStackIntoAVector) {
  Tensor a = Tensor::scalar(1.f).set_requires_grad(), b = Tensor::scalar(2.f).set_requires_grad();
  Tensor y = ops::stack({a, b}, 0);
  EXPECT_EQ(y.to_vector(), (std::vector<float>{1, 2}));
  expect_gradients_match([&] { return weighted_sum(ops::stack({a, b}, -1)); }, {a, b});
}

TEST(Join, MismatchedInputsThrowNamingTheShapes) {
  try {
    ops::concat({Tensor::ones({2, 3}), Tensor::ones({3, 3})}, 1);
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("[3, 3]"), std::string::npos) << e.what();
  }
  EXPECT_THROW(ops::concat({}, 0), std::invalid_argument);
  EXPECT_THROW(ops::concat({Tensor::ones({2}), Tensor::from_ints({1}, {1})}, 0), std::invalid_argument);
  EXPECT_THROW(ops::concat({Tensor::ones({2}), Tensor::ones({2, 1})}, 0), std::invalid_argument);
  EXPECT_THROW(ops::concat({Tensor::ones({2})}, 1), std::invalid_argument);
  EXPECT_THROW(ops::stack({Tensor::ones({2}), Tensor::ones({3})}, 0), std::invalid_argument);
  EXPECT_THROW(ops::stack({Tensor::ones({2})}, 2), std::invalid_argument);
  EXPECT_THROW(ops::split(Tensor::ones({5}), {2, 2}, 0), std::invalid_argument);
  EXPECT_THROW(ops::split(Tensor::ones({5}), {6, -1}, 0), std::invalid_argument);
}

}  // namespace
