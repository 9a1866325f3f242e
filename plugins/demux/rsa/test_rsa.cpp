// demux "rsa", loaded through the registry: h^i = MLP([k_i ; h]) with residual blocks against a naive
// per-instance, per-row loop (layers 1, 2 and 3, random layer-norm affines), no prefix, parameter
// names and shapes, seeds, per-instance outputs, option and shape errors, finite-difference gradients.
#include <gmock/gmock.h>

#include <gradcheck.hpp>

#include "../../testing/plugin_test_util.hpp"

using namespace datamux;
using namespace datamux::testing;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

namespace {

constexpr float kEps = 1e-12f;  // the plugin's default layer-norm epsilon

Options with_layers(int64_t layers) {
  Options o;
  o.set("layers", layers);
  return o;
}

/// LN(gelu(W in + b)) ⊙ gamma + beta for one row, W [out, in] read from block `name`.
std::vector<float> dense_gelu_norm_ref(const Module& m, const std::string& name, const std::vector<float>& in) {
  const Tensor w = param(m, name + ".dense.weight"), b = param(m, name + ".dense.bias");
  const Tensor g = param(m, name + ".norm.weight"), beta = param(m, name + ".norm.bias");
  const int64_t out = w.size(0);
  std::vector<float> y(static_cast<std::size_t>(out));
  for (int64_t o = 0; o < out; ++o) {
    double s = b.at({o});
    for (std::size_t k = 0; k < in.size(); ++k) s += w.at({o, static_cast<int64_t>(k)}) * in[k];
    y[o] = gelu_ref(static_cast<float>(s));
  }
  std::vector<float> z = layer_norm_ref(y, kEps);
  for (int64_t o = 0; o < out; ++o) z[o] = z[o] * g.at({o}) + beta.at({o});
  return z;
}

/// The reference's RetrievalHeadIndexPosDemultiplexing block loop, row by row: [N, rows, hidden] flat.
std::vector<float> rsa_ref(const Module& m, const Tensor& h, int64_t n, int64_t hidden, int64_t layers) {
  const Tensor keys = param(m, "keys");
  const std::vector<float> hv = h.to_vector();
  const int64_t rows = h.numel() / hidden;
  std::vector<float> out;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t r = 0; r < rows; ++r) {
      std::vector<float> cat;  // [k_i ; h_r]
      for (int64_t k = 0; k < hidden; ++k) cat.push_back(keys.at({i, k}));
      for (int64_t k = 0; k < hidden; ++k) cat.push_back(hv[r * hidden + k]);
      std::vector<float> x = dense_gelu_norm_ref(m, "block1", cat);
      auto residual = [&](const std::string& name) {
        const std::vector<float> y = dense_gelu_norm_ref(m, name, x);
        for (int64_t k = 0; k < hidden; ++k) x[k] += y[k];
      };
      for (int64_t l = 2; l <= layers; ++l) residual("block" + std::to_string(l));
      residual("pre_decoder");
      out.insert(out.end(), x.begin(), x.end());
    }
  return out;
}

std::shared_ptr<Demultiplexer> make_rsa(const BuildContext& ctx, int64_t layers) {
  auto demux = make_demux("rsa", ctx, with_layers(layers));
  uint64_t seed = 30;
  for (auto& [name, p] : demux->named_parameters())
    if (name.find("norm.") != std::string::npos) randomize(p, ++seed, name.ends_with("weight") ? 1.f : 0.f, 0.5f);
  return demux;
}

}  // namespace

TEST(RsaDemux, ParametersAndNoPrefix) {
  auto demux = make_demux("rsa", sequence_context(3, 4));
  EXPECT_THAT(parameter_names(*demux),
              ElementsAre("keys", "block1.dense.weight", "block1.dense.bias", "block1.norm.weight", "block1.norm.bias",
                          "block2.dense.weight", "block2.dense.bias", "block2.norm.weight", "block2.norm.bias",
                          "pre_decoder.dense.weight", "pre_decoder.dense.bias", "pre_decoder.norm.weight",
                          "pre_decoder.norm.bias"));
  EXPECT_EQ(param(*demux, "keys").shape(), (Shape{3, 4}));
  EXPECT_EQ(param(*demux, "block1.dense.weight").shape(), (Shape{4, 8}));
  EXPECT_EQ(param(*demux, "block2.dense.weight").shape(), (Shape{4, 4}));
  EXPECT_EQ(demux->prefix_length(), 0) << "no prefix tokens: sequences do not grow with N";
  const Tensor x = Tensor::ones({3, 1, 2, 4});
  EXPECT_EQ(max_abs_diff(demux->prepare(x), x), 0.f);
  EXPECT_EQ(parameter_names(*make_demux("rsa", sequence_context(3, 4), with_layers(3))).size(), 17u);
}

TEST(RsaDemux, KeysAreStandardNormal) {
  auto demux = make_demux("rsa", vector_context(16, 64));
  const std::vector<float> k = param(*demux, "keys").to_vector();
  double mean = 0.0, sq = 0.0;
  for (float v : k) mean += v;
  mean /= static_cast<double>(k.size());
  for (float v : k) sq += (v - mean) * (v - mean);
  EXPECT_NEAR(mean, 0.0, 0.1);
  EXPECT_NEAR(std::sqrt(sq / static_cast<double>(k.size())), 1.0, 0.1);  // randn, as the reference
}

TEST(RsaDemux, MatchesTheReferenceLoopOnSequenceStates) {
  for (int64_t layers : {1, 2, 3}) {
    SCOPED_TRACE("layers " + std::to_string(layers));
    auto demux = make_rsa(sequence_context(3, 4), layers);
    const Tensor h = Tensor::from_vector({1, -2, 0.5f, 3, 0, 1, 1, -1, 2, 2, -3, 0.25f, -0.5f, 4, 1, 0}, {2, 2, 4});
    const Tensor y = demux->forward(h);
    ASSERT_EQ(y.shape(), (Shape{3, 2, 2, 4}));
    expect_values(y, rsa_ref(*demux, h, 3, 4, layers), 2e-4f, 2e-4f);
  }
}

TEST(RsaDemux, MatchesTheReferenceLoopOnVectorStates) {
  auto demux = make_rsa(vector_context(2, 6), 2);
  Rng rng(4);
  const Tensor h = Tensor::randn({3, 6}, rng);
  const Tensor y = demux->forward(h);
  ASSERT_EQ(y.shape(), (Shape{2, 3, 6}));
  expect_values(y, rsa_ref(*demux, h, 2, 6, 2), 2e-4f, 2e-4f);
}

TEST(RsaDemux, InstancesDifferOnlyThroughTheirKeys) {
  auto demux = make_demux("rsa", sequence_context(3, 8));
  Rng rng(2);
  const Tensor h = Tensor::randn({2, 5, 8}, rng);
  Tensor y = demux->forward(h);
  EXPECT_GT(max_abs_diff(y.select(0, 0), y.select(0, 1)), 1e-2f);
  EXPECT_GT(max_abs_diff(y.select(0, 1), y.select(0, 2)), 1e-2f);
  Tensor keys = param(*demux, "keys");
  keys.copy_(keys.select(0, 0).clone().unsqueeze(0));  // every instance gets key 0
  y = demux->forward(h);
  EXPECT_LT(max_abs_diff(y.select(0, 0), y.select(0, 2)), 1e-6f);
}

TEST(RsaDemux, SeedDeterminesTheInitialisation) {
  Options s = with_layers(2);
  s.set("seed", int64_t{42});
  auto a = make_demux("rsa", vector_context(2, 8, 1), s), b = make_demux("rsa", vector_context(2, 8, 2), s);
  auto c = make_demux("rsa", vector_context(2, 8, 2));
  EXPECT_EQ(max_abs_diff(param(*a, "keys"), param(*b, "keys")), 0.f);
  EXPECT_EQ(max_abs_diff(param(*a, "block2.dense.weight"), param(*b, "block2.dense.weight")), 0.f);
  EXPECT_GT(max_abs_diff(param(*a, "keys"), param(*c, "keys")), 1e-3f);
}

TEST(RsaDemux, RejectsBadOptionsAndStates) {
  try {
    make_demux("rsa", sequence_context(2, 8), with_layers(0));
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr("layers"));
  }
  auto demux = make_demux("rsa", sequence_context(2, 8));
  try {
    demux->forward(Tensor::zeros({3, 4, 7}));
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), HasSubstr("rsa demux: expected backbone states [B, ..., hidden=8], got [3, 4, 7]"));
  }
  BuildContext no_hidden = sequence_context(2, 8);
  no_hidden.hidden = 0;
  EXPECT_THROW(make_demux("rsa", no_hidden), InputError);
}

TEST(RsaDemux, GradientsMatchFiniteDifferences) {
  auto demux = make_rsa(sequence_context(2, 4), 2);
  const Tensor h = random_leaf({1, 3, 4}, 5);
  std::vector<Tensor> inputs{h};
  for (const Tensor& p : demux->parameters()) inputs.push_back(p);
  expect_gradients_match([&] { return weighted_sum(demux->forward(h)); }, inputs);
}
