// demux "mlp", loaded through the registry: h^i = LN_i(gelu(W_i h + b_i)) against a naive per-instance
// reference (with random layer-norm affines), vector and sequence states, per-instance outputs,
// parameter names, shape errors and finite-difference gradients for input and every parameter.
#include <gmock/gmock.h>

#include <gradcheck.hpp>

#include "../../testing/plugin_test_util.hpp"

using namespace datamux;
using namespace datamux::testing;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

namespace {

/// Naive h^i for every instance: h [M, hidden] flattened rows -> [N, M, hidden] flattened.
std::vector<float> mlp_demux_ref(const Module& m, const Tensor& h, int64_t n, int64_t hidden) {
  const Tensor w = param(m, "dense.weight"), b = param(m, "dense.bias");
  const Tensor g = param(m, "norm.weight"), beta = param(m, "norm.bias");
  const std::vector<float> hv = h.to_vector();
  const int64_t rows = h.numel() / hidden;
  std::vector<float> out;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t r = 0; r < rows; ++r) {
      std::vector<float> y(static_cast<std::size_t>(hidden));
      for (int64_t o = 0; o < hidden; ++o) {
        float s = b.at({i, o});
        for (int64_t k = 0; k < hidden; ++k) s += w.at({i, o, k}) * hv[r * hidden + k];
        y[o] = gelu_ref(s);
      }
      const std::vector<float> z = layer_norm_ref(y);
      for (int64_t o = 0; o < hidden; ++o) out.push_back(z[o] * g.at({i, o}) + beta.at({i, o}));
    }
  return out;
}

std::shared_ptr<Demultiplexer> make_mlp(int64_t n, int64_t hidden) {
  auto demux = make_demux("mlp", vector_context(n, hidden));
  randomize(param(*demux, "norm.weight"), 21, 1.f, 0.5f);
  randomize(param(*demux, "norm.bias"), 22);
  return demux;
}

}  // namespace

TEST(MlpDemux, ParametersArePerInstance) {
  auto demux = make_demux("mlp", vector_context(3, 4));
  EXPECT_THAT(parameter_names(*demux), ElementsAre("dense.weight", "dense.bias", "norm.weight", "norm.bias"));
  EXPECT_EQ(param(*demux, "dense.weight").shape(), (Shape{3, 4, 4}));
  EXPECT_EQ(param(*demux, "norm.bias").shape(), (Shape{3, 4}));
  EXPECT_EQ(demux->prefix_length(), 0);
  Tensor x = Tensor::zeros({1, 4});
  EXPECT_EQ(max_abs_diff(demux->prepare(x), x), 0.f);
}

TEST(MlpDemux, MatchesPerInstanceReferenceOnVectorStates) {
  auto demux = make_mlp(3, 5);
  Rng rng(1);
  const Tensor h = Tensor::randn({2, 5}, rng);
  const Tensor y = demux->forward(h);
  ASSERT_EQ(y.shape(), (Shape{3, 2, 5}));
  expect_values(y, mlp_demux_ref(*demux, h, 3, 5), 1e-4f, 1e-4f);
}

TEST(MlpDemux, MatchesPerInstanceReferenceOnSequenceStates) {
  auto demux = make_mlp(2, 4);
  const Tensor h = Tensor::from_vector({1, -2, 0.5f, 3, 0, 1, 1, -1, 2, 2, -3, 0.25f, -0.5f, 4, 1, 0}, {2, 2, 4});
  const Tensor y = demux->forward(h);
  ASSERT_EQ(y.shape(), (Shape{2, 2, 2, 4}));
  expect_values(y, mlp_demux_ref(*demux, h, 2, 4), 1e-4f, 1e-4f);
}

TEST(MlpDemux, EachInstanceGetsItsOwnOutput) {
  auto demux = make_demux("mlp", vector_context(3, 8));
  Rng rng(2);
  const Tensor y = demux->forward(Tensor::randn({4, 8}, rng));
  EXPECT_GT(max_abs_diff(y.select(0, 0), y.select(0, 1)), 1e-2f);
  EXPECT_GT(max_abs_diff(y.select(0, 1), y.select(0, 2)), 1e-2f);
}

TEST(MlpDemux, RejectsStatesOfTheWrongWidth) {
  auto demux = make_demux("mlp", vector_context(2, 8));
  try {
    demux->forward(Tensor::zeros({3, 7}));
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), HasSubstr("mlp demux: expected backbone states [B, ..., hidden=8], got [3, 7]"));
  }
  EXPECT_THROW(demux->forward(Tensor::zeros({8})), std::invalid_argument);
}

TEST(MlpDemux, GradientsMatchFiniteDifferences) {
  auto demux = make_mlp(2, 4);
  const Tensor h = random_leaf({2, 3, 4}, 5);
  std::vector<Tensor> inputs{h};
  for (const Tensor& p : demux->parameters()) inputs.push_back(p);
  expect_gradients_match([&] { return weighted_sum(demux->forward(h)); }, inputs);
}
