// Table of elementwise ops (ggml test-backend-ops style): each case is run on random shapes (with
// broadcasting for binary ops) and on contiguous, transposed and sliced inputs; forward values are
// compared with the scalar formula and gradients with finite differences.
#include <datamux/ops.hpp>
#include <fmt/format.h>
#include <gradcheck.hpp>

#include <cmath>
#include <functional>
#include <stdexcept>
#include <string>

#include "op_test_util.hpp"

using namespace datamux;
using namespace datamux::testing;

namespace {

struct ElementwiseCase {
  const char* name;
  int arity;  // 1: op(a); 2: op(a, b) with broadcasting
  std::function<Tensor(const Tensor&, const Tensor&)> op;
  std::function<float(float, float)> ref;
  Domain domain_a = Domain::Normal;
  Domain domain_b = Domain::Normal;
};

float gelu_ref(float x) { return 0.5f * x * (1.f + std::erf(x / std::sqrt(2.f))); }

const std::vector<ElementwiseCase>& cases() {
  using T = const Tensor&;
  static const std::vector<ElementwiseCase> table = {
      {"add", 2, [](T a, T b) { return ops::add(a, b); }, [](float a, float b) { return a + b; }},
      {"sub", 2, [](T a, T b) { return ops::sub(a, b); }, [](float a, float b) { return a - b; }},
      {"mul", 2, [](T a, T b) { return ops::mul(a, b); }, [](float a, float b) { return a * b; }},
      {"div", 2, [](T a, T b) { return ops::div(a, b); }, [](float a, float b) { return a / b; }, Domain::Normal,
       Domain::Positive},
      {"operators", 2, [](T a, T b) { return (a + b) * a - b / (b * b + 1.f); },
       [](float a, float b) { return (a + b) * a - b / (b * b + 1.f); }},
      {"add_scalar", 1, [](T a, T) { return ops::add(a, 0.7f); }, [](float a, float) { return a + 0.7f; }},
      {"mul_scalar", 1, [](T a, T) { return ops::mul(a, -1.3f); }, [](float a, float) { return a * -1.3f; }},
      {"scalar_operators", 1, [](T a, T) { return 2.f * a / 4.f - 0.5f; },
       [](float a, float) { return 2.f * a / 4.f - 0.5f; }},
      {"neg", 1, [](T a, T) { return ops::neg(a); }, [](float a, float) { return -a; }},
      {"square", 1, [](T a, T) { return ops::square(a); }, [](float a, float) { return a * a; }},
      {"sqrt", 1, [](T a, T) { return ops::sqrt(a); }, [](float a, float) { return std::sqrt(a); }, Domain::Positive},
      {"exp", 1, [](T a, T) { return ops::exp(a); }, [](float a, float) { return std::exp(a); }},
      {"log", 1, [](T a, T) { return ops::log(a); }, [](float a, float) { return std::log(a); }, Domain::Positive},
      {"relu", 1, [](T a, T) { return ops::relu(a); }, [](float a, float) { return a > 0.f ? a : 0.f; },
       Domain::AwayFromZero},
      {"gelu", 1, [](T a, T) { return ops::gelu(a); }, [](float a, float) { return gelu_ref(a); }},
      {"tanh", 1, [](T a, T) { return ops::tanh(a); }, [](float a, float) { return std::tanh(a); }},
      {"sigmoid", 1, [](T a, T) { return ops::sigmoid(a); }, [](float a, float) { return 1.f / (1.f + std::exp(-a)); }},
  };
  return table;
}

using Param = std::tuple<ElementwiseCase, Layout, int>;

class ElementwiseOp : public ::testing::TestWithParam<Param> {};

TEST_P(ElementwiseOp, ForwardMatchesFormulaAndGradientsMatchFiniteDifferences) {
  const auto& [c, layout, trial] = GetParam();
  Rng rng(std::hash<std::string>{}(c.name) + static_cast<uint64_t>(trial) * 7919 + static_cast<uint64_t>(layout));
  Shape sa, sb;
  if (c.arity == 2) {
    std::tie(sa, sb) = random_broadcast_pair(rng);
  } else {
    sa = random_shape(rng, 0, 3);
  }
  // b is seen through the same layout on odd trials and contiguous on even ones.
  const Layout layout_b = trial % 2 ? layout : Layout::Contiguous;
  Tensor a = make_leaf(sa, layout, c.domain_a, rng);
  Tensor b = c.arity == 2 ? make_leaf(sb, layout_b, c.domain_b, rng) : Tensor();
  auto run = [&] {
    Tensor va = view_of(a, sa, layout);
    Tensor vb = c.arity == 2 ? view_of(b, sb, layout_b) : Tensor();
    return c.op(va, vb);
  };
  SCOPED_TRACE(fmt::format("a {} b {}", shape_str(sa), c.arity == 2 ? shape_str(sb) : "-"));

  Tensor y = run();
  Tensor va = view_of(a, sa, layout).detach();
  Tensor vb = c.arity == 2 ? view_of(b, sb, layout_b).detach() : Tensor();
  const Shape expected_shape = c.arity == 2 ? (sa.size() >= sb.size() ? sa : sb) : sa;
  ASSERT_EQ(y.dim(), static_cast<int64_t>(expected_shape.size()));
  for_each_index(y.shape(), [&](const std::vector<int64_t>& idx) {
    const float x0 = at_broadcast(va, idx);
    const float x1 = c.arity == 2 ? at_broadcast(vb, idx) : 0.f;
    const float want = c.ref(x0, x1);
    ASSERT_NEAR(y.at(idx), want, 1e-6f + 1e-5f * std::fabs(want));
  });

  std::vector<Tensor> inputs{a};
  if (c.arity == 2) inputs.push_back(b);
  expect_gradients_match([&] { return weighted_sum(run()); }, inputs);
}

std::string param_name(const ::testing::TestParamInfo<Param>& info) {
  const auto& [c, layout, trial] = info.param;
  return fmt::format("{}_{}_{}", c.name, layout_name(layout), trial);
}

INSTANTIATE_TEST_SUITE_P(Table, ElementwiseOp,
                         ::testing::Combine(::testing::ValuesIn(cases()),
                                            ::testing::Values(Layout::Contiguous, Layout::Transposed, Layout::Sliced),
                                            ::testing::Range(0, 4)),
                         param_name);

TEST(Elementwise, BroadcastOutputShapeAlignsTrailingDims) {
  Tensor a = Tensor::ones({2, 1, 4});
  Tensor b = Tensor::ones({3, 1});
  EXPECT_EQ(ops::add(a, b).shape(), (Shape{2, 3, 4}));
}

TEST(Elementwise, IncompatibleShapesThrowNamingBoth) {
  try {
    ops::mul(Tensor::ones({2, 3}), Tensor::ones({4}));
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("[2, 3]"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("[4]"), std::string::npos) << e.what();
  }
}

TEST(Elementwise, IntegerInputIsRejected) {
  EXPECT_THROW(ops::exp(Tensor::from_ints({1, 2}, {2})), std::invalid_argument);
}

TEST(Elementwise, BothInputsBroadcastFromStrideZeroViews) {
  // a and b are both expanded views: the kernel must read through stride 0 on both sides.
  Tensor a = Tensor::from_vector({1, 2, 3}, {3, 1}).expand({3, 4});
  Tensor b = Tensor::from_vector({10, 20, 30, 40}, {1, 4}).expand({3, 4});
  Tensor y = ops::add(a, b);
  for (int64_t i = 0; i < 3; ++i)
    for (int64_t j = 0; j < 4; ++j) EXPECT_FLOAT_EQ(y.at({i, j}), static_cast<float>(i + 1 + 10 * (j + 1)));
}

TEST(Elementwise, SameInputOnBothSidesAccumulates) {
  Rng rng(3);
  Tensor a = Tensor::randn({3, 2}, rng).set_requires_grad();
  expect_gradients_match([&] { return weighted_sum(ops::mul(a, a.transpose(0, 1).transpose(0, 1))); }, {a});
}

}  // namespace
