// backbone "transformer", loaded through the registry: post-LN and pre-LN layers against a naive
// reference computed from its own parameters, the padding mask, learned positions, errors, gradients.
#include <cmath>
#include <datamux/registry.hpp>
#include <gradcheck.hpp>

#include "../../testing/plugin_test_util.hpp"
#include <map>

using namespace datamux;
using datamux::testing::expect_close;
using datamux::testing::expect_gradients_match;
using datamux::testing::weighted_sum;

namespace {

BuildContext seq_ctx(int64_t hidden, int64_t seq_len, Rng& rng) {
  BuildContext ctx;
  ctx.input = InputKind::Sequence;
  ctx.dim = hidden;
  ctx.hidden = hidden;
  ctx.seq_len = seq_len;
  ctx.prefix_len = 0;
  ctx.seed = 17;
  ctx.rng = &rng;
  return ctx;
}

Options small_options(bool norm_first, int64_t layers = 2) {
  Options o;
  o.set("layers", layers);
  o.set("heads", int64_t{2});
  o.set("ffn", int64_t{12});
  o.set("dropout", 0.0);
  o.set("norm_first", norm_first);
  return o;
}

std::shared_ptr<Backbone> make_transformer(const Options& o, const BuildContext& ctx) {
  return datamux::testing::plugin_registry().create<Backbone>("transformer", o, ctx, "[backbone]");
}

// ---- naive reference on one sequence, a row-major [T, width] matrix ----
using Mat = std::vector<float>;

Mat linear(const Mat& x, int64_t t, const Tensor& weight, const Tensor& bias) {
  const int64_t out = weight.size(0), in = weight.size(1);
  Mat w = weight.to_vector(), b = bias.to_vector(), y(static_cast<std::size_t>(t * out));
  for (int64_t r = 0; r < t; ++r)
    for (int64_t o = 0; o < out; ++o) {
      double s = b[o];
      for (int64_t i = 0; i < in; ++i) s += static_cast<double>(w[o * in + i]) * x[r * in + i];
      y[r * out + o] = static_cast<float>(s);
    }
  return y;
}

Mat layer_norm(const Mat& x, int64_t t, const Tensor& weight, const Tensor& bias) {
  const int64_t d = weight.size(0);
  Mat w = weight.to_vector(), b = bias.to_vector(), y(x.size());
  for (int64_t r = 0; r < t; ++r) {
    double mean = 0, var = 0;
    for (int64_t i = 0; i < d; ++i) mean += x[r * d + i];
    mean /= d;
    for (int64_t i = 0; i < d; ++i) var += (x[r * d + i] - mean) * (x[r * d + i] - mean);
    var /= d;
    for (int64_t i = 0; i < d; ++i)
      y[r * d + i] = static_cast<float>((x[r * d + i] - mean) / std::sqrt(var + 1e-5) * w[i] + b[i]);
  }
  return y;
}

Mat add(Mat a, const Mat& b) {
  for (std::size_t i = 0; i < a.size(); ++i) a[i] += b[i];
  return a;
}

Mat attention(std::map<std::string, Tensor>& p, const std::string& pre, const Mat& x, int64_t t,
              const std::vector<float>& mask, int64_t heads) {
  Mat q = linear(x, t, p.at(pre + "q_proj.weight"), p.at(pre + "q_proj.bias"));
  Mat k = linear(x, t, p.at(pre + "k_proj.weight"), p.at(pre + "k_proj.bias"));
  Mat v = linear(x, t, p.at(pre + "v_proj.weight"), p.at(pre + "v_proj.bias"));
  const int64_t hidden = static_cast<int64_t>(x.size()) / t, d = hidden / heads;
  Mat a(x.size(), 0.f);
  for (int64_t h = 0; h < heads; ++h)
    for (int64_t i = 0; i < t; ++i) {
      std::vector<double> s(static_cast<std::size_t>(t));
      double mx = -1e300, z = 0;
      for (int64_t j = 0; j < t; ++j) {
        if (mask[j] == 0.f) continue;
        double dot = 0;
        for (int64_t e = 0; e < d; ++e)
          dot += static_cast<double>(q[i * hidden + h * d + e]) * k[j * hidden + h * d + e];
        s[j] = dot / std::sqrt(static_cast<double>(d));
        mx = std::max(mx, s[j]);
      }
      for (int64_t j = 0; j < t; ++j) {
        s[j] = mask[j] == 0.f ? 0.0 : std::exp(s[j] - mx);
        z += s[j];
      }
      for (int64_t e = 0; e < d; ++e) {
        double acc = 0;
        for (int64_t j = 0; j < t; ++j) acc += s[j] / z * v[j * hidden + h * d + e];
        a[i * hidden + h * d + e] = static_cast<float>(acc);
      }
    }
  return linear(a, t, p.at(pre + "out_proj.weight"), p.at(pre + "out_proj.bias"));
}

Mat ffn(std::map<std::string, Tensor>& p, const std::string& pre, const Mat& x, int64_t t) {
  Mat h = linear(x, t, p.at(pre + "fc1.weight"), p.at(pre + "fc1.bias"));
  for (float& v : h) v = 0.5f * v * (1.f + std::erf(v / std::sqrt(2.f)));
  return linear(h, t, p.at(pre + "fc2.weight"), p.at(pre + "fc2.bias"));
}

/// The whole encoder on x [B, T, hidden] with mask [B, T].
std::vector<float> reference(const Module& m, const Tensor& x, const Tensor& mask, int64_t layers, int64_t heads,
                             bool norm_first) {
  auto p = datamux::testing::parameter_map(m);
  const int64_t b = x.size(0), t = x.size(1), hidden = x.size(2);
  std::vector<float> xv = x.to_vector(), mv = mask.to_vector(), out;
  for (int64_t s = 0; s < b; ++s) {
    Mat h(xv.begin() + s * t * hidden, xv.begin() + (s + 1) * t * hidden);
    if (p.count("position_embeddings.weight")) {
      Mat pos = p.at("position_embeddings.weight").to_vector();
      for (int64_t i = 0; i < t * hidden; ++i) h[i] += pos[i];
    }
    std::vector<float> m_row(mv.begin() + s * t, mv.begin() + (s + 1) * t);
    for (int64_t l = 0; l < layers; ++l) {
      const std::string pre = "layers." + std::to_string(l) + ".";
      auto norm = [&](const Mat& y, int k) {
        return layer_norm(y, t, p.at(pre + "norm" + std::to_string(k) + ".weight"),
                          p.at(pre + "norm" + std::to_string(k) + ".bias"));
      };
      if (norm_first) {
        h = add(h, attention(p, pre + "attn.", norm(h, 1), t, m_row, heads));
        h = add(h, ffn(p, pre + "ffn.", norm(h, 2), t));
      } else {
        h = norm(add(h, attention(p, pre + "attn.", h, t, m_row, heads)), 1);
        h = norm(add(h, ffn(p, pre + "ffn.", h, t)), 2);
      }
    }
    if (norm_first) h = layer_norm(h, t, p.at("norm.weight"), p.at("norm.bias"));
    out.insert(out.end(), h.begin(), h.end());
  }
  return out;
}

Tensor padded_mask() {  // row 0 full; row 1 has 3 tokens then 2 pads
  return Tensor::from_vector({1, 1, 1, 1, 1, 1, 1, 1, 0, 0}, {2, 5});
}

}  // namespace

TEST(TransformerBackbone, PostAndPreLayerNormMatchNaiveReference) {
  for (bool norm_first : {false, true}) {
    Rng rng(1);
    auto tr = make_transformer(small_options(norm_first), seq_ctx(8, 5, rng));
    EXPECT_EQ(datamux::testing::parameter_map(*tr).count("norm.weight"), norm_first ? 1u : 0u);
    Rng data(2);
    Tensor x = Tensor::randn({2, 5, 8}, data);
    Tensor mask = padded_mask();
    Tensor y = tr->forward(x, mask);
    ASSERT_EQ(y.shape(), (Shape{2, 5, 8}));
    expect_close(y, Tensor::from_vector(reference(*tr, x, mask, 2, 2, norm_first), {2, 5, 8}), 2e-4f, 1e-3f);
  }
}

TEST(TransformerBackbone, ParameterNamesFollowPyTorch) {
  Rng rng(1);
  auto p = datamux::testing::parameter_map(*make_transformer(small_options(false), seq_ctx(8, 5, rng)));
  for (const char* name : {"layers.0.attn.q_proj.weight", "layers.0.attn.k_proj.bias", "layers.0.attn.v_proj.weight",
                           "layers.0.attn.out_proj.weight", "layers.0.ffn.fc1.weight", "layers.0.ffn.fc2.bias",
                           "layers.0.norm1.weight", "layers.1.norm2.bias"})
    EXPECT_EQ(p.count(name), 1u) << name;
  EXPECT_EQ(p.at("layers.1.ffn.fc1.weight").shape(), (Shape{12, 8}));
  EXPECT_EQ(p.size(), 2u * 16u);
}

TEST(TransformerBackbone, PaddedTokensDoNotReachRealPositions) {
  for (bool norm_first : {false, true}) {
    Rng rng(3);
    auto tr = make_transformer(small_options(norm_first), seq_ctx(8, 5, rng));
    Rng data(4);
    Tensor x = Tensor::randn({2, 5, 8}, data);
    Tensor changed = x.clone();
    Rng noise(5);
    changed.slice(0, 1, 2).slice(1, 3, 5).copy_(Tensor::randn({1, 2, 8}, noise, 0.f, 3.f));
    Tensor mask = padded_mask();
    Tensor a = tr->forward(x, mask), b = tr->forward(changed, mask);
    expect_close(b.slice(1, 0, 3).contiguous(), a.slice(1, 0, 3).contiguous(), 1e-5f, 1e-5f);  // both rows' real tokens
    // Without the mask the same change does reach row 1's real positions: the check above can fail.
    Tensor c = tr->forward(x, Tensor()), d = tr->forward(changed, Tensor());
    std::vector<float> cv = c.select(0, 1).slice(0, 0, 3).contiguous().to_vector();
    std::vector<float> dv = d.select(0, 1).slice(0, 0, 3).contiguous().to_vector();
    float diff = 0.f;
    for (std::size_t i = 0; i < cv.size(); ++i) diff += std::fabs(cv[i] - dv[i]);
    EXPECT_GT(diff, 1e-3f);
  }
}

TEST(TransformerBackbone, LearnedPositionsOverPrefixAndSequence) {
  Rng rng(6);
  Options o = small_options(false, 1);
  o.set("positions", true);
  BuildContext ctx = seq_ctx(8, 4, rng);
  ctx.prefix_len = 3;
  auto tr = make_transformer(o, ctx);
  auto p = datamux::testing::parameter_map(*tr);
  ASSERT_EQ(p.at("position_embeddings.weight").shape(), (Shape{7, 8}));
  Rng data(7);
  Tensor x = Tensor::randn({2, 7, 8}, data);
  Tensor mask = Tensor::ones({2, 7});
  expect_close(tr->forward(x, mask), Tensor::from_vector(reference(*tr, x, mask, 1, 2, false), {2, 7, 8}), 2e-4f,
               1e-3f);
  EXPECT_THROW(tr->forward(Tensor::zeros({1, 8, 8}), Tensor()), std::invalid_argument);
}

TEST(TransformerBackbone, RejectsBadConfigurationsAndShapes) {
  Rng rng(8);
  BuildContext mismatch = seq_ctx(8, 5, rng);
  mismatch.dim = 6;
  EXPECT_THROW(make_transformer(small_options(false), mismatch), InputError);
  Options three_heads = small_options(false);
  three_heads.set("heads", int64_t{3});
  EXPECT_THROW(make_transformer(three_heads, seq_ctx(8, 5, rng)), InputError);
  BuildContext image = seq_ctx(8, 5, rng);
  image.input = InputKind::Image;
  EXPECT_THROW(make_transformer(small_options(false), image), InputError);
  auto tr = make_transformer(small_options(false), seq_ctx(8, 5, rng));
  EXPECT_THROW(tr->forward(Tensor::zeros({2, 5, 6}), Tensor()), std::invalid_argument);
  EXPECT_THROW(tr->forward(Tensor::zeros({2, 5, 8}), Tensor::ones({2, 4})), std::invalid_argument);
  EXPECT_THROW(tr->forward(Tensor::zeros({10, 8}), Tensor()), std::invalid_argument);
}

TEST(TransformerBackbone, DropoutOnlyInTraining) {
  Rng rng(9);
  Options o = small_options(false);
  o.set("dropout", 0.3);
  auto tr = make_transformer(o, seq_ctx(8, 5, rng));
  Rng data(10);
  Tensor x = Tensor::randn({2, 5, 8}, data);
  Tensor mask = Tensor::ones({2, 5});
  tr->eval();
  Tensor expected = Tensor::from_vector(reference(*tr, x, mask, 2, 2, false), {2, 5, 8});
  expect_close(tr->forward(x, mask), expected, 2e-4f, 1e-3f);
  tr->train();
  std::vector<float> a = tr->forward(x, mask).to_vector(), e = expected.to_vector();
  float diff = 0.f;
  for (std::size_t i = 0; i < a.size(); ++i) diff += std::fabs(a[i] - e[i]);
  EXPECT_GT(diff, 1e-2f);
}

TEST(TransformerBackbone, GradientsMatchFiniteDifferences) {
  for (bool norm_first : {false, true}) {
    Rng rng(11);
    auto tr = make_transformer(small_options(norm_first, 1), seq_ctx(4, 3, rng));
    auto p = datamux::testing::parameter_map(*tr);
    Rng data(12);
    Tensor x = Tensor::randn({2, 3, 4}, data).set_requires_grad();
    Tensor mask = Tensor::from_vector({1, 1, 1, 1, 1, 0}, {2, 3});
    expect_gradients_match([&] { return weighted_sum(tr->forward(x, mask)); },
                           {x, p.at("layers.0.attn.q_proj.weight"), p.at("layers.0.attn.v_proj.bias"),
                            p.at("layers.0.ffn.fc1.weight"), p.at("layers.0.norm1.weight")});
  }
}
