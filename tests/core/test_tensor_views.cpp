// Table of tensor views (reshape, permute, transpose, slice, select, expand, unsqueeze, squeeze,
// flatten, clone) and chains of them. Each case gives the view and the input index every output
// element reads; it runs on contiguous, transposed and sliced inputs, checks values element by element
// and gradients against finite differences.
#include <datamux/ops.hpp>
#include <fmt/format.h>
#include <gradcheck.hpp>

#include <stdexcept>

#include "op_test_util.hpp"

using namespace datamux;
using namespace datamux::testing;

namespace {

using Index = std::vector<int64_t>;

// Row-major multi-index of flat position k in shape.
Index unflatten(int64_t k, const Shape& shape) {
  Index idx(shape.size());
  for (int64_t d = static_cast<int64_t>(shape.size()) - 1; d >= 0; --d) {
    idx[d] = k % shape[d];
    k /= shape[d];
  }
  return idx;
}

int64_t flatten_index(const Index& idx, const Shape& shape) {
  int64_t k = 0;
  for (std::size_t d = 0; d < shape.size(); ++d) k = k * shape[d] + idx[d];
  return k;
}

struct ViewCase {
  const char* name;
  Shape shape;                                   // input shape
  std::function<Tensor(const Tensor&)> view;     // the view under test
  std::function<Index(const Index&)> src_index;  // input index read by an output index
  bool shares_storage_when_contiguous = true;
};

// Reshape-like views read the element with the same row-major position.
std::function<Index(const Index&)> same_position(const Shape& in, const Shape& out) {
  return [in, out](const Index& o) { return unflatten(flatten_index(o, out), in); };
}

const std::vector<ViewCase>& cases() {
  static const std::vector<ViewCase> table = {
      {"reshape", {2, 6}, [](const Tensor& x) { return x.reshape({3, 4}); }, same_position({2, 6}, {3, 4})},
      {"reshape_infer", {2, 3, 2}, [](const Tensor& x) { return x.reshape({-1, 2}); }, same_position({2, 3, 2}, {6, 2})},
      {"reshape_to_scalar", {1, 1}, [](const Tensor& x) { return x.reshape({}); },
       [](const Index&) { return Index{0, 0}; }},
      {"permute", {2, 3, 4}, [](const Tensor& x) { return x.permute({2, 0, 1}); },
       [](const Index& o) { return Index{o[1], o[2], o[0]}; }},
      {"permute_negative", {2, 3, 4}, [](const Tensor& x) { return x.permute({-1, -2, -3}); },
       [](const Index& o) { return Index{o[2], o[1], o[0]}; }},
      {"transpose", {3, 4}, [](const Tensor& x) { return x.transpose(0, 1); },
       [](const Index& o) { return Index{o[1], o[0]}; }},
      {"transpose_outer", {2, 3, 4}, [](const Tensor& x) { return x.transpose(0, -2); },
       [](const Index& o) { return Index{o[1], o[0], o[2]}; }},
      {"slice_last", {3, 6}, [](const Tensor& x) { return x.slice(1, 2, 5); },
       [](const Index& o) { return Index{o[0], o[1] + 2}; }},
      {"slice_first_negative", {5, 3}, [](const Tensor& x) { return x.slice(0, -3, -1); },
       [](const Index& o) { return Index{o[0] + 2, o[1]}; }},
      {"slice_clamped", {4, 3}, [](const Tensor& x) { return x.slice(0, 1, 100); },
       [](const Index& o) { return Index{o[0] + 1, o[1]}; }},
      {"select", {3, 4}, [](const Tensor& x) { return x.select(1, 2); }, [](const Index& o) { return Index{o[0], 2}; }},
      {"select_negative", {3, 4, 2}, [](const Tensor& x) { return x.select(0, -1); },
       [](const Index& o) { return Index{2, o[0], o[1]}; }},
      {"expand", {3, 1}, [](const Tensor& x) { return x.expand({2, 3, 4}); },
       [](const Index& o) { return Index{o[1], 0}; }},
      {"expand_keep", {1, 4}, [](const Tensor& x) { return x.expand({3, -1}); },
       [](const Index& o) { return Index{0, o[1]}; }},
      {"unsqueeze", {3, 4}, [](const Tensor& x) { return x.unsqueeze(1); },
       [](const Index& o) { return Index{o[0], o[2]}; }},
      {"unsqueeze_end", {3, 4}, [](const Tensor& x) { return x.unsqueeze(-1); },
       [](const Index& o) { return Index{o[0], o[1]}; }},
      {"squeeze", {3, 1, 4}, [](const Tensor& x) { return x.squeeze(1); },
       [](const Index& o) { return Index{o[0], 0, o[1]}; }},
      {"squeeze_not_one", {3, 4}, [](const Tensor& x) { return x.squeeze(0); }, [](const Index& o) { return o; }},
      {"flatten", {2, 3, 4}, [](const Tensor& x) { return x.flatten(); }, same_position({2, 3, 4}, {24})},
      {"flatten_middle", {2, 3, 4, 2}, [](const Tensor& x) { return x.flatten(1, 2); },
       same_position({2, 3, 4, 2}, {2, 12, 2})},
      {"clone", {3, 4}, [](const Tensor& x) { return x.clone(); }, [](const Index& o) { return o; }, false},
      {"contiguous_of_transpose", {3, 4}, [](const Tensor& x) { return x.transpose(0, 1).contiguous(); },
       [](const Index& o) { return Index{o[1], o[0]}; }, false},
      {"reshape_of_transpose", {3, 4}, [](const Tensor& x) { return x.transpose(0, 1).reshape({2, 6}); },
       [](const Index& o) {
         const Index t = unflatten(flatten_index(o, {2, 6}), {4, 3});
         return Index{t[1], t[0]};
       },
       false},
      {"slice_of_transpose", {4, 5}, [](const Tensor& x) { return x.transpose(0, 1).slice(1, 1, 3); },
       [](const Index& o) { return Index{o[1] + 1, o[0]}; }},
      {"expand_of_slice", {4, 1}, [](const Tensor& x) { return x.slice(0, 1, 3).expand({2, 3}); },
       [](const Index& o) { return Index{o[0] + 1, 0}; }},
      {"select_of_permute", {2, 3, 4}, [](const Tensor& x) { return x.permute({2, 0, 1}).select(1, 1); },
       [](const Index& o) { return Index{1, o[1], o[0]}; }},
      {"unsqueeze_expand_squeeze", {3}, [](const Tensor& x) { return x.unsqueeze(0).expand({2, 3}).select(0, 1); },
       [](const Index& o) { return Index{o[0]}; }},
  };
  return table;
}

using Param = std::tuple<ViewCase, Layout>;

class ViewOp : public ::testing::TestWithParam<Param> {};

TEST_P(ViewOp, ReadsTheRightElementsAndBackpropagates) {
  const auto& [c, layout] = GetParam();
  Rng rng(std::hash<std::string>{}(c.name));
  Tensor x = make_leaf(c.shape, layout, Domain::Normal, rng);
  auto run = [&] { return c.view(view_of(x, c.shape, layout)); };
  Tensor y = run();
  Tensor xv = view_of(x, c.shape, layout).detach();
  for_each_index(y.shape(), [&](const Index& o) { ASSERT_EQ(y.at(o), xv.at(c.src_index(o))) << c.name; });
  if (layout == Layout::Contiguous && c.shares_storage_when_contiguous) {
    EXPECT_EQ(y.impl()->storage, x.impl()->storage) << "a view of a contiguous tensor must not copy";
  }
  expect_gradients_match([&] { return weighted_sum(run()); }, {x});
}

std::string param_name(const ::testing::TestParamInfo<Param>& info) {
  const auto& [c, layout] = info.param;
  return fmt::format("{}_{}", c.name, layout_name(layout));
}

INSTANTIATE_TEST_SUITE_P(Table, ViewOp,
                         ::testing::Combine(::testing::ValuesIn(cases()),
                                            ::testing::Values(Layout::Contiguous, Layout::Transposed, Layout::Sliced)),
                         param_name);

TEST(Views, ViewUsedTwiceAccumulatesBothGradients) {
  Rng rng(2);
  Tensor x = Tensor::randn({3, 4}, rng).set_requires_grad();
  expect_gradients_match(
      [&] { return weighted_sum(ops::add(x.slice(1, 0, 2), ops::mul(x.transpose(0, 1).slice(0, 2, 4).transpose(0, 1), 2.f))); },
      {x});
}

TEST(Views, ScalarRootThatIsALeafGetsGradientOne) {
  Tensor s = Tensor::scalar(3.f).set_requires_grad();
  s.backward();
  ASSERT_TRUE(s.grad().defined()) << "backward() on a leaf must seed its own gradient";
  EXPECT_FLOAT_EQ(s.grad().item(), 1.f);
}

TEST(Views, WritesThroughASliceReachTheBase) {
  Tensor base = Tensor::zeros({3, 4});
  base.slice(1, 1, 3).copy_(Tensor::ones({3, 2}));
  EXPECT_EQ(base.to_vector(), (std::vector<float>{0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0}));
  base.transpose(0, 1).select(0, 3).fill_(5.f);
  EXPECT_FLOAT_EQ(base.at({2, 3}), 5.f);
}

TEST(Views, BadArgumentsThrow) {
  Tensor x = Tensor::ones({2, 3});
  EXPECT_THROW(x.reshape({4, 2}), std::invalid_argument);
  EXPECT_THROW(x.reshape({-1, -1}), std::invalid_argument);
  EXPECT_THROW(x.permute({0, 0}), std::invalid_argument);
  EXPECT_THROW(x.permute({0}), std::invalid_argument);
  EXPECT_THROW(x.select(1, 3), std::out_of_range);
  EXPECT_THROW(x.expand({4, 3}), std::invalid_argument);
  EXPECT_THROW(x.transpose(0, 2), std::invalid_argument);
}

TEST(Views, ZeroDimTensorsAcceptDimZeroOrRejectCleanly) {
  Tensor s = Tensor::scalar(4.f);
  EXPECT_FLOAT_EQ(s.transpose(0, -1).item(), 4.f);
  EXPECT_FLOAT_EQ(s.squeeze(0).item(), 4.f);
  EXPECT_EQ(s.unsqueeze(0).shape(), (Shape{1}));
  EXPECT_THROW(s.slice(0, 0, 1), std::invalid_argument);
  EXPECT_THROW(s.select(0, 0), std::invalid_argument);
  EXPECT_THROW(s.size(0), std::invalid_argument);
  EXPECT_THROW(s.transpose(0, 1), std::invalid_argument);
}

TEST(Views, FillAndCopyIntoStridedIntegerViews) {
  // e.g. writing prefix token ids into the first columns of an id matrix
  Tensor ids = Tensor::zeros({2, 4}, DType::i32);
  ids.slice(1, 0, 2).fill_(7.f);
  EXPECT_EQ(ids.to_ints(), (std::vector<int32_t>{7, 7, 0, 0, 7, 7, 0, 0}));
  ids.slice(1, 2, 4).copy_(Tensor::from_ints({1, 2, 3, 4}, {2, 2}));
  EXPECT_EQ(ids.to_ints(), (std::vector<int32_t>{7, 7, 1, 2, 7, 7, 3, 4}));
}

TEST(Views, CopyIntoOffsetAndStridedBf16Views) {
  Tensor h = Tensor::zeros({3, 4}, DType::bf16);
  h.slice(0, 1, 2).copy_(Tensor::from_vector({1, 2, 3, 4}, {1, 4}).to(DType::bf16));  // contiguous, offset 4
  h.slice(1, 3, 4).fill_(-1.f);                                                        // strided
  EXPECT_EQ(h.to_vector(), (std::vector<float>{0, 0, 0, -1, 1, 2, 3, -1, 0, 0, 0, -1}));
}

}  // namespace
