// backbone "mlp", loaded through the registry: output against a naive reference computed from its own
// parameters, image flattening, shape and configuration errors, dropout modes, gradients.
#include <cmath>
#include <datamux/registry.hpp>
#include <gradcheck.hpp>

#include "../../testing/plugin_test_util.hpp"
#include <map>

using namespace datamux;
using datamux::testing::expect_gradients_match;
using datamux::testing::weighted_sum;

namespace {

BuildContext vector_ctx(int64_t dim, int64_t hidden, Rng& rng) {
  BuildContext ctx;
  ctx.input = InputKind::Vector;
  ctx.dim = dim;
  ctx.hidden = hidden;
  ctx.seed = 11;
  ctx.rng = &rng;
  return ctx;
}

std::shared_ptr<Backbone> make_mlp(const Options& o, const BuildContext& ctx) {
  return datamux::testing::plugin_registry().create<Backbone>("mlp", o, ctx, "[backbone]");
}

float act(const std::string& name, float v) {
  if (name == "relu") return v > 0.f ? v : 0.f;
  if (name == "gelu") return 0.5f * v * (1.f + std::erf(v / std::sqrt(2.f)));
  return std::tanh(v);
}

/// Naive MLP: rows of x [B, in] through each layer (W [out, in], b [out]).
std::vector<float> reference(const Module& m, const std::vector<float>& x, int64_t batch, int64_t depth,
                             const std::string& activation, bool final_activation) {
  auto p = datamux::testing::parameter_map(m);
  std::vector<float> h = x;
  int64_t in = static_cast<int64_t>(x.size()) / batch;
  for (int64_t k = 0; k < depth; ++k) {
    Tensor w = p.at("layers." + std::to_string(k) + ".weight"), b = p.at("layers." + std::to_string(k) + ".bias");
    const int64_t out = w.size(0);
    std::vector<float> wv = w.to_vector(), bv = b.to_vector(), next(static_cast<std::size_t>(batch * out));
    for (int64_t r = 0; r < batch; ++r)
      for (int64_t o = 0; o < out; ++o) {
        float s = bv[o];
        for (int64_t i = 0; i < in; ++i) s += wv[o * in + i] * h[r * in + i];
        next[r * out + o] = (k + 1 < depth || final_activation) ? act(activation, s) : s;
      }
    h = std::move(next);
    in = out;
  }
  return h;
}

}  // namespace

TEST(MlpBackbone, MatchesNaiveReferenceForEachActivation) {
  for (const std::string activation : {"relu", "gelu", "tanh"}) {
    for (bool final_activation : {true, false}) {
      Rng rng(3);
      Options o;
      o.set("depth", int64_t{3});
      o.set("width", int64_t{6});
      o.set("activation", activation);
      o.set("final_activation", final_activation);
      auto mlp = make_mlp(o, vector_ctx(5, 4, rng));
      Rng data(4);
      Tensor x = Tensor::randn({3, 5}, data);
      Tensor y = mlp->forward(x, Tensor());
      ASSERT_EQ(y.shape(), (Shape{3, 4})) << activation;
      datamux::testing::expect_close(
          y, Tensor::from_vector(reference(*mlp, x.to_vector(), 3, 3, activation, final_activation), {3, 4}), 1e-4f,
          1e-4f);
    }
  }
}

TEST(MlpBackbone, ParameterNamesAndShapesFollowDepthAndWidth) {
  Rng rng(1);
  Options o;
  o.set("depth", int64_t{3});
  o.set("width", int64_t{7});
  auto p = datamux::testing::parameter_map(*make_mlp(o, vector_ctx(5, 4, rng)));
  ASSERT_EQ(p.size(), 6u);
  EXPECT_EQ(p.at("layers.0.weight").shape(), (Shape{7, 5}));
  EXPECT_EQ(p.at("layers.1.weight").shape(), (Shape{7, 7}));
  EXPECT_EQ(p.at("layers.2.weight").shape(), (Shape{4, 7}));
  EXPECT_EQ(p.at("layers.2.bias").shape(), (Shape{4}));
  Rng rng2(1);
  auto defaults = datamux::testing::parameter_map(*make_mlp(Options(), vector_ctx(5, 4, rng2)));  // depth 2, width = hidden
  EXPECT_EQ(defaults.at("layers.0.weight").shape(), (Shape{4, 5}));
  EXPECT_EQ(defaults.at("layers.1.weight").shape(), (Shape{4, 4}));
}

TEST(MlpBackbone, FlattensImages) {
  Rng rng(2);
  BuildContext ctx = vector_ctx(0, 3, rng);
  ctx.input = InputKind::Image;
  ctx.channels = 2;
  ctx.height = 3;
  ctx.width = 2;
  auto mlp = make_mlp(Options(), ctx);
  Rng data(5);
  Tensor x = Tensor::randn({4, 2, 3, 2}, data);
  Tensor y = mlp->forward(x, Tensor());
  ASSERT_EQ(y.shape(), (Shape{4, 3}));
  datamux::testing::expect_close(y, Tensor::from_vector(reference(*mlp, x.to_vector(), 4, 2, "relu", true), {4, 3}));
}

TEST(MlpBackbone, RejectsWrongShapesAndSequenceTasks) {
  Rng rng(2);
  auto mlp = make_mlp(Options(), vector_ctx(5, 4, rng));
  EXPECT_THROW(mlp->forward(Tensor::zeros({3, 6}), Tensor()), std::invalid_argument);
  EXPECT_THROW(mlp->forward(Tensor::zeros({3, 5, 1}), Tensor()), std::invalid_argument);
  BuildContext seq = vector_ctx(5, 4, rng);
  seq.input = InputKind::Sequence;
  EXPECT_THROW(make_mlp(Options(), seq), InputError);
  Options bad;
  bad.set("activation", std::string("swish"));
  EXPECT_THROW(make_mlp(bad, vector_ctx(5, 4, rng)), InputError);
}

TEST(MlpBackbone, DropoutOnlyInTraining) {
  Rng rng(6);
  Options o;
  o.set("dropout", 0.5);
  o.set("depth", int64_t{3});
  auto mlp = make_mlp(o, vector_ctx(8, 16, rng));
  Rng data(7);
  Tensor x = Tensor::randn({6, 8}, data);
  mlp->eval();
  std::vector<float> expected = reference(*mlp, x.to_vector(), 6, 3, "relu", true);
  datamux::testing::expect_close(mlp->forward(x, Tensor()), Tensor::from_vector(expected, {6, 16}));
  mlp->train();
  std::vector<float> trained = mlp->forward(x, Tensor()).to_vector();
  float diff = 0.f;
  for (std::size_t i = 0; i < trained.size(); ++i) diff += std::fabs(trained[i] - expected[i]);
  EXPECT_GT(diff, 1e-2f) << "dropout 0.5 changed nothing in training mode";
}

TEST(MlpBackbone, GradientsMatchFiniteDifferences) {
  Rng rng(8);
  Options o;
  o.set("depth", int64_t{3});
  o.set("width", int64_t{5});
  o.set("activation", std::string("tanh"));
  auto mlp = make_mlp(o, vector_ctx(4, 3, rng));
  auto p = datamux::testing::parameter_map(*mlp);
  Rng data(9);
  Tensor x = Tensor::randn({2, 4}, data).set_requires_grad();
  expect_gradients_match([&] { return weighted_sum(mlp->forward(x, Tensor())); },
                         {x, p.at("layers.0.weight"), p.at("layers.1.bias"), p.at("layers.2.weight")});
}
