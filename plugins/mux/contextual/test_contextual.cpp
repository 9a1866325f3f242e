// mux "contextual", loaded through the registry: the MUX-PLMs formula x_t = (1/N) sum_i (c^i_t + u^i_t)
// against a naive loop (its own post-LN encoder-layer reference, per sequence and per position), codes
// equal to the gaussian mux's, trainable codes, seeds, refusals of non-sequence inputs and bad
// options, the padding mask (forward_masked), shape errors and finite-difference gradients for the input, the codes and weights of both layers.
#include <gmock/gmock.h>

#include <gradcheck.hpp>

#include "../../testing/plugin_test_util.hpp"

using namespace datamux;
using namespace datamux::testing;
using ::testing::HasSubstr;

namespace {

using Rows = std::vector<std::vector<float>>;  // [T][d]

constexpr float kEps = 1e-12f;  // the plugin's default layer-norm epsilon

std::vector<float> linear_ref(const Tensor& w, const Tensor& b, const std::vector<float>& x) {
  std::vector<float> y(static_cast<std::size_t>(w.size(0)));
  for (int64_t o = 0; o < w.size(0); ++o) {
    double s = b.at({o});
    for (int64_t k = 0; k < w.size(1); ++k) s += w.at({o, k}) * x[k];
    y[o] = static_cast<float>(s);
  }
  return y;
}

std::vector<float> norm_ref(const Module& m, const std::string& name, const std::vector<float>& x) {
  std::vector<float> z = layer_norm_ref(x, kEps);
  for (std::size_t k = 0; k < z.size(); ++k)
    z[k] = z[k] * param(m, name + ".weight").at({static_cast<int64_t>(k)}) +
           param(m, name + ".bias").at({static_cast<int64_t>(k)});
  return z;
}

/// One post-LN encoder layer (as ElectraLayer without dropout) over the rows of one sequence.
Rows encoder_layer_ref(const Module& m, const std::string& p, const Rows& x, int64_t heads) {
  auto lin = [&](const std::string& name, const std::vector<float>& v) {
    return linear_ref(param(m, p + name + ".weight"), param(m, p + name + ".bias"), v);
  };
  const auto t = static_cast<int64_t>(x.size());
  const auto d = static_cast<int64_t>(x[0].size()), hd = d / heads;
  Rows q, k, v;
  for (const auto& row : x) {
    q.push_back(lin("attn.q_proj", row));
    k.push_back(lin("attn.k_proj", row));
    v.push_back(lin("attn.v_proj", row));
  }
  Rows out;
  for (int64_t a = 0; a < t; ++a) {
    std::vector<float> att(static_cast<std::size_t>(d), 0.f);
    for (int64_t h = 0; h < heads; ++h) {
      std::vector<double> s(static_cast<std::size_t>(t));
      double mx = -1e30, z = 0.0;
      for (int64_t b = 0; b < t; ++b) {
        double dot = 0.0;
        for (int64_t e = h * hd; e < (h + 1) * hd; ++e) dot += q[a][e] * k[b][e];
        s[b] = dot / std::sqrt(static_cast<double>(hd));
        mx = std::max(mx, s[b]);
      }
      for (double& e : s) z += (e = std::exp(e - mx));
      for (int64_t b = 0; b < t; ++b)
        for (int64_t e = h * hd; e < (h + 1) * hd; ++e) att[e] += static_cast<float>(s[b] / z) * v[b][e];
    }
    std::vector<float> h1 = lin("attn.out_proj", att);
    for (int64_t e = 0; e < d; ++e) h1[e] += x[a][e];
    h1 = norm_ref(m, p + "norm1", h1);
    std::vector<float> f = lin("ffn.fc1", h1);
    for (float& e : f) e = gelu_ref(e);
    std::vector<float> h2 = lin("ffn.fc2", f);
    for (int64_t e = 0; e < d; ++e) h2[e] += h1[e];
    out.push_back(norm_ref(m, p + "norm2", h2));
  }
  return out;
}

/// The formula, loop by loop: x [N, B, L, d] -> [B, L, d] flat.
std::vector<float> contextual_ref(const Module& m, const Tensor& codes, const Tensor& x, int64_t heads) {
  const int64_t n = x.size(0), bs = x.size(1), l = x.size(2), d = x.size(3);
  std::vector<std::vector<Rows>> u(static_cast<std::size_t>(n), std::vector<Rows>(static_cast<std::size_t>(bs)));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t b = 0; b < bs; ++b) {
      Rows e(static_cast<std::size_t>(l), std::vector<float>(static_cast<std::size_t>(d)));
      for (int64_t t = 0; t < l; ++t)
        for (int64_t k = 0; k < d; ++k) e[t][k] = x.at({i, b, t, k});
      Rows g = encoder_layer_ref(m, "tl1.", e, heads);  // TL_1 over instance i's own sequence
      for (int64_t t = 0; t < l; ++t)
        for (int64_t k = 0; k < d; ++k) g[t][k] = (g[t][k] + e[t][k]) * codes.at({i, k});
      u[i][b] = g;
    }
  std::vector<float> out;
  for (int64_t b = 0; b < bs; ++b)
    for (int64_t t = 0; t < l; ++t) {
      Rows across;  // u^1_t .. u^N_t
      for (int64_t i = 0; i < n; ++i) across.push_back(u[i][b][t]);
      const Rows c = encoder_layer_ref(m, "tl2.", across, heads);
      for (int64_t k = 0; k < d; ++k) {
        double s = 0.0;
        for (int64_t i = 0; i < n; ++i) s += c[i][k] + across[i][k];
        out.push_back(static_cast<float>(s / static_cast<double>(n)));
      }
    }
  return out;
}

Options small(int64_t heads, int64_t ffn) {
  Options o;
  o.set("heads", heads);
  o.set("ffn", ffn);
  o.set("norm", 3.0);
  return o;
}

/// Random layer-norm affines, so a test does not pass because they start at one and zero.
void randomize_norms(Module& m) {
  uint64_t seed = 50;
  for (auto& [name, p] : m.named_parameters())
    if (name.find("norm") != std::string::npos) randomize(p, ++seed, name.ends_with("weight") ? 1.f : 0.f, 0.5f);
}

}  // namespace

TEST(ContextualMux, MatchesTheFormulaLoopByLoop) {
  auto mux = make_mux("contextual", sequence_context(3, 4), small(2, 6));
  mux->eval();  // no dropout
  randomize_norms(*mux);
  const Tensor x = Tensor::from_vector({1,  -2, 0.5f, 3, 0,     1, 1,    -1, 2,  2,  -3, 0.25f, -0.5f, 4, 1,  0,
                                        2,  1,  -1,   0, 0.75f, 3, -2,   1,  -1, 0,  1,  2,     0.5f,  1, -3, 2,
                                        -1, 1,  0,    2, 1,     1, 0.5f, -2, 3,  -1, 0,  1,     2,     0, 1,  -1},
                                       {3, 2, 2, 4});
  const Tensor y = mux->forward(x);
  ASSERT_EQ(y.shape(), (Shape{2, 2, 4}));
  expect_values(y, contextual_ref(*mux, buffer(*mux, "codes"), x, 2), 2e-4f, 2e-4f);
}

TEST(ContextualMux, CodesAreTheGaussianMuxCodes) {
  Options o = small(2, 0);
  o.set("seed", int64_t{9});
  Options g;
  g.set("norm", 3.0);
  g.set("seed", int64_t{9});
  const Tensor mine = buffer(*make_mux("contextual", sequence_context(4, 8), o), "codes");
  const Tensor gauss = buffer(*make_mux("gaussian", sequence_context(4, 8), g), "codes");
  EXPECT_EQ(max_abs_diff(mine, gauss), 0.f);
  for (int64_t i = 0; i < 4; ++i) {
    double sq = 0.0;
    for (int64_t k = 0; k < 8; ++k) sq += mine.at({i, k}) * mine.at({i, k});
    EXPECT_NEAR(std::sqrt(sq), 3.0, 1e-5);
  }
}

TEST(ContextualMux, LayersHaveTheConfiguredSizes) {
  auto mux = make_mux("contextual", sequence_context(2, 8), small(2, 0));
  EXPECT_EQ(param(*mux, "tl1.ffn.fc1.weight").shape(), (Shape{32, 8}));  // ffn 0 = 4 x d
  EXPECT_EQ(param(*mux, "tl2.attn.q_proj.weight").shape(), (Shape{8, 8}));
  EXPECT_EQ(buffer(*mux, "codes").shape(), (Shape{2, 8}));
  auto wide = make_mux("contextual", sequence_context(2, 8), small(2, 5));
  EXPECT_EQ(param(*wide, "tl2.ffn.fc2.weight").shape(), (Shape{8, 5}));
}

TEST(ContextualMux, SeedDeterminesCodesAndWeights) {
  Options s = small(2, 0);
  s.set("seed", int64_t{42});
  auto a = make_mux("contextual", sequence_context(2, 8, 1), s), b = make_mux("contextual", sequence_context(2, 8, 2), s);
  auto c = make_mux("contextual", sequence_context(2, 8, 2), small(2, 0));
  EXPECT_EQ(max_abs_diff(buffer(*a, "codes"), buffer(*b, "codes")), 0.f);
  EXPECT_EQ(max_abs_diff(param(*a, "tl2.ffn.fc1.weight"), param(*b, "tl2.ffn.fc1.weight")), 0.f);
  EXPECT_GT(max_abs_diff(buffer(*a, "codes"), buffer(*c, "codes")), 1e-3f);
}

TEST(ContextualMux, SameInputInDifferentSlotsGivesDifferentOutputs) {
  auto mux = make_mux("contextual", sequence_context(3, 8), small(2, 0));
  mux->eval();
  Rng rng(1);
  const Tensor one = Tensor::randn({2, 3, 8}, rng);
  EXPECT_GT(max_abs_diff(mux->forward(in_slot(one, 3, 0)), mux->forward(in_slot(one, 3, 1))), 1e-3f);
}

// forward_masked: TL_1 does not attend to an instance's own padding, so what sits at padded positions
// cannot change the output at the other positions (TL_2 works per position, so position t reads only
// position t of each instance); without the mask it does. An all-ones mask is forward(x).
TEST(ContextualMux, PaddingMaskKeepsPaddedPositionsOutOfTheOtherPositions) {
  constexpr int64_t kN = 3, kL = 5;
  auto mux = make_mux("contextual", sequence_context(kN, 8), small(2, 0));
  mux->eval();
  Rng rng(3);
  const Tensor x = Tensor::randn({kN, 2, kL, 8}, rng);
  std::vector<float> m(static_cast<std::size_t>(kN * 2 * kL), 1.f);
  for (int64_t t = 3; t < kL; ++t) m[static_cast<std::size_t>((1 * 2 + 0) * kL + t)] = 0.f;  // instance 1, row 0: 3 tokens
  const Tensor mask = Tensor::from_vector(m, {kN, 2, kL});
  // Change instance 1's padded positions of row 0.
  std::vector<float> xv = x.to_vector();
  for (int64_t t = 3; t < kL; ++t)
    for (int64_t e = 0; e < 8; ++e) xv[static_cast<std::size_t>(((1 * 2 + 0) * kL + t) * 8 + e)] += 5.f;
  const Tensor changed = Tensor::from_vector(xv, {kN, 2, kL, 8});
  const Tensor a = mux->forward_masked(x, mask), b = mux->forward_masked(changed, mask);
  EXPECT_LT(max_abs_diff(a.slice(1, 0, 3), b.slice(1, 0, 3)), 1e-6f) << "padding leaked into the tokens";
  EXPECT_GT(max_abs_diff(a.slice(1, 3, kL), b.slice(1, 3, kL)), 1e-3f) << "the padded positions themselves do change";
  EXPECT_GT(max_abs_diff(mux->forward(x).slice(1, 0, 3), mux->forward(changed).slice(1, 0, 3)), 1e-3f)
      << "without the mask TL_1 attends over the padding";
  EXPECT_EQ(max_abs_diff(mux->forward_masked(x, Tensor::ones({kN, 2, kL})), mux->forward(x)), 0.f);
  EXPECT_THROW(mux->forward_masked(x, Tensor::ones({kN, 2, kL + 1})), std::invalid_argument);
}

TEST(ContextualMux, RefusesNonSequenceInputsAndBadOptions) {
  try {
    make_mux("contextual", vector_context(2, 8));
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr("contextual mux attends over token sequences"));
  }
  EXPECT_THROW(make_mux("contextual", image_context(2, 1, 4, 4)), InputError);
  try {
    make_mux("contextual", sequence_context(2, 8), small(3, 0));
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr("heads = 3 does not divide the embedding size 8"));
  }
  Options bad;
  bad.set("heads", int64_t{0});
  try {
    make_mux("contextual", sequence_context(2, 8), bad);
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr("heads"));
  }
}

TEST(ContextualMux, RejectsInputOfTheWrongShape) {
  auto mux = make_mux("contextual", sequence_context(2, 8), small(2, 0));
  try {
    mux->forward(Tensor::zeros({2, 3, 8}));
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), HasSubstr("contextual mux: expected embedded sequences [N=2, B, L, d=8], got [2, 3, 8]"));
  }
  EXPECT_THROW(mux->forward(Tensor::zeros({3, 1, 2, 8})), std::invalid_argument);
}

TEST(ContextualMux, GradientsMatchFiniteDifferences) {
  Options o = small(2, 4);
  o.set("trainable", true);
  auto mux = make_mux("contextual", sequence_context(2, 4), o);
  mux->eval();  // dropout would make every evaluation different
  randomize_norms(*mux);
  const Tensor x = random_leaf({2, 1, 3, 4}, 5);
  // Every path of the formula: the codes, and in both layers the attention, the feed-forward and a
  // layer norm (checking all ~290 weights costs a minute on a loaded machine and adds no path).
  std::vector<Tensor> inputs{x, param(*mux, "codes")};
  for (const char* name : {"tl1.attn.q_proj.weight", "tl1.attn.v_proj.bias", "tl1.ffn.fc1.weight", "tl1.norm2.weight",
                           "tl2.attn.k_proj.weight", "tl2.attn.out_proj.weight", "tl2.ffn.fc2.bias", "tl2.norm1.bias"})
    inputs.push_back(param(*mux, name));
  expect_gradients_match([&] { return weighted_sum(mux->forward(x)); }, inputs);
}
