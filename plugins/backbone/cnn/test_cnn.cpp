// backbone "cnn", loaded through the registry: output against a naive conv/pool/linear reference
// computed from its own parameters, the LeNet shapes on 28x28 images, errors, gradients.
#include <algorithm>
#include <cmath>
#include <datamux/registry.hpp>
#include <gradcheck.hpp>

#include "../../testing/plugin_test_util.hpp"
#include <map>

using namespace datamux;
using datamux::testing::expect_gradients_match;
using datamux::testing::weighted_sum;

namespace {

BuildContext image_ctx(int64_t channels, int64_t height, int64_t width, int64_t hidden, Rng& rng) {
  BuildContext ctx;
  ctx.input = InputKind::Image;
  ctx.channels = channels;
  ctx.height = height;
  ctx.width = width;
  ctx.dim = channels * height * width;
  ctx.hidden = hidden;
  ctx.seed = 5;
  ctx.rng = &rng;
  return ctx;
}

std::shared_ptr<Backbone> make_cnn(const Options& o, const BuildContext& ctx) {
  return datamux::testing::plugin_registry().create<Backbone>("cnn", o, ctx, "[backbone]");
}

float act(const std::string& name, float v) { return name == "relu" ? std::max(v, 0.f) : std::tanh(v); }

/// A feature map [C, H, W] of one image.
struct Map {
  int64_t c, h, w;
  std::vector<float> v;
  float at(int64_t ci, int64_t y, int64_t x) const {
    if (y < 0 || x < 0 || y >= h || x >= w) return 0.f;
    return v[static_cast<std::size_t>((ci * h + y) * w + x)];
  }
};

Map conv_act_pool(const Map& in, const Tensor& weight, const Tensor& bias, int64_t pad, int64_t pool,
                  const std::string& activation) {
  const int64_t o_c = weight.size(0), k = weight.size(2);
  const int64_t oh = in.h + 2 * pad - k + 1, ow = in.w + 2 * pad - k + 1;
  std::vector<float> wv = weight.to_vector(), bv = bias.to_vector(), conv(static_cast<std::size_t>(o_c * oh * ow));
  for (int64_t o = 0; o < o_c; ++o)
    for (int64_t y = 0; y < oh; ++y)
      for (int64_t x = 0; x < ow; ++x) {
        float s = bv[o];
        for (int64_t c = 0; c < in.c; ++c)
          for (int64_t ky = 0; ky < k; ++ky)
            for (int64_t kx = 0; kx < k; ++kx)
              s += wv[((o * in.c + c) * k + ky) * k + kx] * in.at(c, y + ky - pad, x + kx - pad);
        conv[(o * oh + y) * ow + x] = act(activation, s);
      }
  Map out{o_c, oh / pool, ow / pool, {}};
  out.v.resize(static_cast<std::size_t>(out.c * out.h * out.w));
  for (int64_t o = 0; o < o_c; ++o)
    for (int64_t y = 0; y < out.h; ++y)
      for (int64_t x = 0; x < out.w; ++x) {
        float m = -INFINITY;
        for (int64_t dy = 0; dy < pool; ++dy)
          for (int64_t dx = 0; dx < pool; ++dx) m = std::max(m, conv[(o * oh + y * pool + dy) * ow + x * pool + dx]);
        out.v[(o * out.h + y) * out.w + x] = m;
      }
  return out;
}

/// Naive forward of the whole backbone for images x [B, C, H, W].
std::vector<float> reference(const Module& m, const Tensor& x, int64_t layers, int64_t pad, int64_t pool,
                             const std::string& activation) {
  auto p = datamux::testing::parameter_map(m);
  const int64_t b = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  std::vector<float> xv = x.to_vector(), fw = p.at("fc.weight").to_vector(), fb = p.at("fc.bias").to_vector();
  const int64_t hidden = p.at("fc.weight").size(0);
  std::vector<float> out;
  for (int64_t i = 0; i < b; ++i) {
    Map f{c, h, w, std::vector<float>(xv.begin() + i * c * h * w, xv.begin() + (i + 1) * c * h * w)};
    for (int64_t k = 0; k < layers; ++k)
      f = conv_act_pool(f, p.at("convs." + std::to_string(k) + ".weight"), p.at("convs." + std::to_string(k) + ".bias"),
                        pad, pool, activation);
    const int64_t flat = static_cast<int64_t>(f.v.size());
    for (int64_t o = 0; o < hidden; ++o) {
      float s = fb[o];
      for (int64_t j = 0; j < flat; ++j) s += fw[o * flat + j] * f.v[j];
      out.push_back(act(activation, s));
    }
  }
  return out;
}

}  // namespace

TEST(CnnBackbone, MatchesNaiveReference) {
  for (const std::string activation : {"relu", "tanh"}) {
    for (int64_t pad : {0, 1}) {
      Rng rng(1);
      Options o;
      o.set("channels", IntList{3, 4});
      o.set("kernel", int64_t{3});
      o.set("padding", pad);
      o.set("activation", activation);
      auto cnn = make_cnn(o, image_ctx(2, 11, 12, 5, rng));
      Rng data(2);
      Tensor x = Tensor::randn({3, 2, 11, 12}, data);
      Tensor y = cnn->forward(x, Tensor());
      ASSERT_EQ(y.shape(), (Shape{3, 5}));
      datamux::testing::expect_close(y, Tensor::from_vector(reference(*cnn, x, 2, pad, 2, activation), {3, 5}), 1e-4f,
                                     1e-3f);
    }
  }
}

TEST(CnnBackbone, LeNetShapesOnFashionMnistImages) {
  Rng rng(3);
  auto cnn = make_cnn(Options(), image_ctx(1, 28, 28, 32, rng));
  auto p = datamux::testing::parameter_map(*cnn);
  EXPECT_EQ(p.at("convs.0.weight").shape(), (Shape{6, 1, 5, 5}));
  EXPECT_EQ(p.at("convs.1.weight").shape(), (Shape{16, 6, 5, 5}));
  EXPECT_EQ(p.at("fc.weight").shape(), (Shape{32, 16 * 4 * 4}));
  Rng data(4);
  Tensor y = cnn->forward(Tensor::randn({2, 1, 28, 28}, data), Tensor());
  EXPECT_EQ(y.shape(), (Shape{2, 32}));
  for (float v : y.to_vector()) EXPECT_GE(v, 0.f);  // relu after the final Linear
}

TEST(CnnBackbone, InChannelsOverridesTheTaskChannels) {
  Rng rng(3);
  Options o;
  o.set("in_channels", int64_t{4});
  auto cnn = make_cnn(o, image_ctx(1, 28, 28, 8, rng));
  EXPECT_EQ(datamux::testing::parameter_map(*cnn).at("convs.0.weight").shape(), (Shape{6, 4, 5, 5}));
  EXPECT_EQ(cnn->forward(Tensor::zeros({2, 4, 28, 28}), Tensor()).shape(), (Shape{2, 8}));
  EXPECT_THROW(cnn->forward(Tensor::zeros({2, 1, 28, 28}), Tensor()), std::invalid_argument);
}

TEST(CnnBackbone, RejectsImagesTooSmallAndWrongInputs) {
  Rng rng(5);
  EXPECT_THROW(make_cnn(Options(), image_ctx(1, 8, 8, 4, rng)), InputError);  // 8 -> 4 -> 2 -> 0 after conv 5
  Options empty;
  empty.set("channels", IntList{});
  EXPECT_THROW(make_cnn(empty, image_ctx(1, 28, 28, 4, rng)), InputError);
  BuildContext vec = image_ctx(1, 28, 28, 4, rng);
  vec.input = InputKind::Vector;
  EXPECT_THROW(make_cnn(Options(), vec), InputError);
  auto cnn = make_cnn(Options(), image_ctx(1, 28, 28, 4, rng));
  EXPECT_THROW(cnn->forward(Tensor::zeros({2, 1, 27, 28}), Tensor()), std::invalid_argument);
  EXPECT_THROW(cnn->forward(Tensor::zeros({2, 784}), Tensor()), std::invalid_argument);
}

TEST(CnnBackbone, GradientsMatchFiniteDifferences) {
  Rng rng(6);
  Options o;
  o.set("channels", IntList{2, 3});
  o.set("kernel", int64_t{3});
  o.set("activation", std::string("tanh"));
  auto cnn = make_cnn(o, image_ctx(1, 10, 10, 4, rng));
  auto p = datamux::testing::parameter_map(*cnn);
  Rng data(7);
  Tensor x = Tensor::randn({2, 1, 10, 10}, data).set_requires_grad();
  // A small step keeps every max-pool window's winner in place.
  expect_gradients_match([&] { return weighted_sum(cnn->forward(x, Tensor())); },
                         {x, p.at("convs.0.weight"), p.at("convs.1.bias"), p.at("fc.weight")}, 2e-3f, 3e-3f, 3e-2f);
}
