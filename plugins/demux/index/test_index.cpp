// demux "index", loaded through the registry: prefix length N+1, prefix placement (marker i at
// position i for instance i, filler elsewhere, CLS at N), h^i_t = LN(gelu(W [p_i ; h_t] + b)) against
// a naive reference, output shapes through a mux, per-instance outputs, refused contexts and shapes,
// finite-difference gradients of prepare and forward; the same for the inner_width extension.
#include <gmock/gmock.h>

#include <gradcheck.hpp>

#include "../../testing/plugin_test_util.hpp"

using namespace datamux;
using namespace datamux::testing;
using ::testing::HasSubstr;

namespace {

std::shared_ptr<Demultiplexer> make_index(int64_t n, int64_t d) {
  auto demux = make_demux("index", sequence_context(n, d));
  randomize(param(*demux, "norm.weight"), 31, 1.f, 0.5f);
  randomize(param(*demux, "norm.bias"), 32);
  return demux;
}

/// Naive h^i_t for h [B, N+1+L, d] -> flattened [N, B, L, d]: LN(gelu(W [p_i ; h_t] + b)), or with
/// inner_width = k > 0, LN(W_o gelu(W [p_i ; h_t] + b) + b_o).
std::vector<float> index_demux_ref(const Module& m, const Tensor& h, int64_t n, int64_t inner = 0) {
  const Tensor wp = param(m, "proj.prefix_weight"), wh = param(m, "proj.token_weight"), bias = param(m, "proj.bias");
  const Tensor g = param(m, "norm.weight"), beta = param(m, "norm.bias");
  const int64_t b = h.size(0), l = h.size(1) - n - 1, d = h.size(2), k = inner > 0 ? inner : d;
  std::vector<float> out;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t bi = 0; bi < b; ++bi)
      for (int64_t t = 0; t < l; ++t) {
        std::vector<float> u(static_cast<std::size_t>(k));
        for (int64_t o = 0; o < k; ++o) {
          float s = bias.at({o});
          for (int64_t c = 0; c < d; ++c)
            s += wp.at({o, c}) * h.at({bi, i, c}) + wh.at({o, c}) * h.at({bi, n + 1 + t, c});
          u[o] = gelu_ref(s);
        }
        std::vector<float> y = u;
        if (inner > 0) {
          const Tensor wo = param(m, "out.weight"), bo = param(m, "out.bias");
          y.assign(static_cast<std::size_t>(d), 0.f);
          for (int64_t o = 0; o < d; ++o) {
            y[o] = bo.at({o});
            for (int64_t c = 0; c < k; ++c) y[o] += wo.at({o, c}) * u[c];
          }
        }
        const std::vector<float> z = layer_norm_ref(y);
        for (int64_t o = 0; o < d; ++o) out.push_back(z[o] * g.at({o}) + beta.at({o}));
      }
  return out;
}

std::shared_ptr<Demultiplexer> make_inner(int64_t n, int64_t d, int64_t k) {
  Options o;
  o.set("inner_width", k);
  auto demux = make_demux("index", sequence_context(n, d), o);
  randomize(param(*demux, "norm.weight"), 33, 1.f, 0.5f);
  randomize(param(*demux, "norm.bias"), 34);
  return demux;
}

}  // namespace

TEST(IndexDemux, PrefixIsNPlusOneTokens) {
  EXPECT_EQ(make_demux("index", sequence_context(1, 4))->prefix_length(), 2);
  EXPECT_EQ(make_demux("index", sequence_context(5, 4))->prefix_length(), 6);
}

TEST(IndexDemux, PrepareMarksInstanceIAtPositionI) {
  const int64_t n = 3, d = 4, b = 2, l = 2;
  auto demux = make_demux("index", sequence_context(n, d));
  const Tensor index = param(*demux, "prefix.index"), filler = param(*demux, "prefix.filler"),
               cls = param(*demux, "prefix.cls");
  ASSERT_EQ(index.shape(), (Shape{n, d}));
  Rng rng(1);
  const Tensor x = Tensor::randn({n, b, l, d}, rng);
  const Tensor y = demux->prepare(x);
  ASSERT_EQ(y.shape(), (Shape{n, b, n + 1 + l, d}));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t bi = 0; bi < b; ++bi)
      for (int64_t k = 0; k < d; ++k) {
        for (int64_t j = 0; j < n; ++j) {
          const float expected = j == i ? index.at({i, k}) : filler.at({k});
          EXPECT_EQ(y.at({i, bi, j, k}), expected) << "instance " << i << " position " << j;
        }
        EXPECT_EQ(y.at({i, bi, n, k}), cls.at({k})) << "CLS at position N";
        for (int64_t t = 0; t < l; ++t) EXPECT_EQ(y.at({i, bi, n + 1 + t, k}), x.at({i, bi, t, k}));
      }
  EXPECT_GT(max_abs_diff(index.select(0, 0), filler), 0.1f) << "markers and filler must differ";
}

TEST(IndexDemux, ForwardMatchesReference) {
  const int64_t n = 3, d = 5;
  auto demux = make_index(n, d);
  Rng rng(2);
  const Tensor h = Tensor::randn({2, n + 1 + 4, d}, rng);
  const Tensor y = demux->forward(h);
  ASSERT_EQ(y.shape(), (Shape{n, 2, 4, d}));
  expect_values(y, index_demux_ref(*demux, h, n), 1e-4f, 1e-4f);
}

TEST(IndexDemux, ShapesThroughAMux) {
  const int64_t n = 4, d = 8, b = 3, l = 5;
  const BuildContext ctx = sequence_context(n, d);
  auto demux = make_demux("index", ctx);
  auto mux = make_mux("gaussian", ctx);
  Rng rng(3);
  const Tensor prepared = demux->prepare(Tensor::randn({n, b, l, d}, rng));
  EXPECT_EQ(prepared.shape(), (Shape{n, b, n + 1 + l, d}));
  const Tensor mixed = mux->forward(prepared);
  EXPECT_EQ(mixed.shape(), (Shape{b, n + 1 + l, d}));
  EXPECT_EQ(demux->forward(mixed).shape(), (Shape{n, b, l, d}));
}

TEST(IndexDemux, EachInstanceGetsItsOwnOutput) {
  const int64_t n = 3;
  auto demux = make_demux("index", sequence_context(n, 8));
  Rng rng(4);
  const Tensor y = demux->forward(Tensor::randn({2, n + 1 + 3, 8}, rng));
  EXPECT_GT(max_abs_diff(y.select(0, 0), y.select(0, 1)), 1e-2f);
  EXPECT_GT(max_abs_diff(y.select(0, 1), y.select(0, 2)), 1e-2f);
}

TEST(IndexDemux, RefusesNonSequenceTasks) {
  try {
    make_demux("index", vector_context(2, 8));
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr("use the mlp or linear demux"));
  }
}

TEST(IndexDemux, RejectsInputsOfTheWrongShape) {
  auto demux = make_demux("index", sequence_context(2, 8));
  try {
    demux->prepare(Tensor::zeros({3, 1, 4, 8}));
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(),
                HasSubstr("index demux prepare: expected embedded inputs [N=2, B, L, d=8], got [3, 1, 4, 8]"));
  }
  try {
    demux->forward(Tensor::zeros({1, 3, 8}));  // only the prefix, no token
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), HasSubstr("N+1=3 prefix positions first and L >= 1, got [1, 3, 8]"));
  }
  EXPECT_THROW(demux->forward(Tensor::zeros({1, 6, 7})), std::invalid_argument);
}

TEST(IndexDemux, PrepareGradientsMatchFiniteDifferences) {
  auto demux = make_demux("index", sequence_context(2, 3));
  const Tensor x = random_leaf({2, 2, 2, 3}, 6);
  expect_gradients_match(
      [&] { return weighted_sum(demux->prepare(x)); },
      {x, param(*demux, "prefix.index"), param(*demux, "prefix.filler"), param(*demux, "prefix.cls")});
}

TEST(IndexDemux, ForwardGradientsMatchFiniteDifferences) {
  const int64_t n = 2, d = 6;
  auto demux = make_index(n, d);
  const Tensor h = random_leaf({2, n + 1 + 2, d}, 7);
  expect_gradients_match([&] { return weighted_sum(demux->forward(h)); },
                         {h, param(*demux, "proj.prefix_weight"), param(*demux, "proj.token_weight"),
                          param(*demux, "proj.bias"), param(*demux, "norm.weight"), param(*demux, "norm.bias")});
}

TEST(IndexDemux, InnerWidthAddsAWideLayerAndAProjectionBack) {
  const int64_t n = 3, d = 5, k = 11;
  auto demux = make_inner(n, d, k);
  EXPECT_EQ(param(*demux, "proj.token_weight").shape(), (Shape{k, d}));
  EXPECT_EQ(param(*demux, "proj.prefix_weight").shape(), (Shape{k, d}));
  EXPECT_EQ(param(*demux, "out.weight").shape(), (Shape{d, k}));
  Rng rng(8);
  const Tensor h = Tensor::randn({2, n + 1 + 3, d}, rng);
  const Tensor y = demux->forward(h);
  ASSERT_EQ(y.shape(), (Shape{n, 2, 3, d}));
  expect_values(y, index_demux_ref(*demux, h, n, k), 1e-4f, 1e-4f);
}

TEST(IndexDemux, InnerWidthZeroIsTheSingleLayer) {
  auto demux = make_demux("index", sequence_context(2, 4));
  for (const auto& [name, p] : demux->named_parameters())
    EXPECT_EQ(name.rfind("out.", 0), std::string::npos) << name << ": no output projection without inner_width";
}

TEST(IndexDemux, InnerWidthGradientsMatchFiniteDifferences) {
  const int64_t n = 2, d = 4, k = 7;
  auto demux = make_inner(n, d, k);
  const Tensor h = random_leaf({2, n + 1 + 2, d}, 9);
  expect_gradients_match([&] { return weighted_sum(demux->forward(h)); },
                         {h, param(*demux, "proj.prefix_weight"), param(*demux, "proj.token_weight"),
                          param(*demux, "proj.bias"), param(*demux, "out.weight"), param(*demux, "out.bias"),
                          param(*demux, "norm.weight"), param(*demux, "norm.bias")});
}
