// plugin_test_util.hpp - what the built-in mux/demux tests share: the registry they load plugins from
// (as a user would), build contexts, state lookup by name, and naive reference maths (gelu, layer
// norm, the elementwise-code mux) to compare the plugins' outputs with.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <datamux/registry.hpp>
#include <map>
#include <string>
#include <vector>

namespace datamux::testing {

/// The registry over the build tree's plugin folder (and DATAMUX_PLUGIN_PATH).
inline Registry& plugin_registry() {
  static Registry reg = Registry::with_default_paths();
  return reg;
}

inline BuildContext sequence_context(int64_t n, int64_t dim, uint64_t seed = 7) {
  BuildContext ctx;
  ctx.instances = n;
  ctx.input = InputKind::Sequence;
  ctx.dim = dim;
  ctx.hidden = dim;
  ctx.seq_len = 3;
  ctx.seed = seed;
  return ctx;
}

inline BuildContext vector_context(int64_t n, int64_t dim, uint64_t seed = 7) {
  BuildContext ctx = sequence_context(n, dim, seed);
  ctx.input = InputKind::Vector;
  ctx.seq_len = 0;
  return ctx;
}

inline BuildContext image_context(int64_t n, int64_t c, int64_t h, int64_t w, uint64_t seed = 7) {
  BuildContext ctx;
  ctx.instances = n;
  ctx.input = InputKind::Image;
  ctx.channels = c;
  ctx.height = h;
  ctx.width = w;
  ctx.dim = c * h * w;
  ctx.hidden = 8;
  ctx.seed = seed;
  return ctx;
}

inline std::shared_ptr<Multiplexer> make_mux(const std::string& name, const BuildContext& ctx,
                                             const Options& o = Options()) {
  return plugin_registry().create<Multiplexer>(name, o, ctx, "[mux]");
}

inline std::shared_ptr<Demultiplexer> make_demux(const std::string& name, const BuildContext& ctx,
                                                 const Options& o = Options()) {
  return plugin_registry().create<Demultiplexer>(name, o, ctx, "[demux]");
}

/// The tensor called `name` in `items` (named_parameters / named_buffers), or undefined with a failure.
inline Tensor find_named(const std::vector<std::pair<std::string, Tensor>>& items, const std::string& name) {
  for (const auto& [key, t] : items)
    if (key == name) return t;
  ADD_FAILURE() << "no tensor named '" << name << "'";
  return Tensor();
}
/// Parameters by name, for tests that recompute a plugin's output from its weights.
inline std::map<std::string, Tensor> parameter_map(const Module& m) {
  std::map<std::string, Tensor> out;
  for (auto& [name, t] : m.named_parameters()) out[name] = t;
  return out;
}

inline Tensor param(const Module& m, const std::string& name) { return find_named(m.named_parameters(), name); }
inline Tensor buffer(const Module& m, const std::string& name) { return find_named(m.named_buffers(), name); }

/// Names of a module's parameters, in registration order.
inline std::vector<std::string> parameter_names(const Module& m) {
  std::vector<std::string> out;
  for (const auto& [key, t] : m.named_parameters()) out.push_back(key);
  return out;
}

/// A leaf with N(0, 1) entries that requires grad (so the test can check what reaches it).
inline Tensor random_leaf(const Shape& shape, uint64_t seed) {
  Rng rng(seed);
  Tensor t = Tensor::randn(shape, rng);
  t.set_requires_grad(true);
  return t;
}

/// Overwrites a parameter with N(mean, stddev) values, so that a test does not depend on its
/// initial value (e.g. layer-norm weights that start at one).
inline void randomize(Tensor t, uint64_t seed, float mean = 0.f, float stddev = 1.f) {
  Rng rng(seed);
  t.copy_(Tensor::randn(t.shape(), rng, mean, stddev));
}

inline float gelu_ref(float v) { return 0.5f * v * (1.f + std::erf(v / std::sqrt(2.f))); }

/// Layer norm of one row without affine.
inline std::vector<float> layer_norm_ref(const std::vector<float>& row, float eps = 1e-5f) {
  double mean = 0.0, var = 0.0;
  for (float v : row) mean += v;
  mean /= static_cast<double>(row.size());
  for (float v : row) var += (v - mean) * (v - mean);
  var /= static_cast<double>(row.size());
  std::vector<float> out(row.size());
  for (std::size_t k = 0; k < row.size(); ++k)
    out[k] = static_cast<float>((row[k] - mean) / std::sqrt(var + static_cast<double>(eps)));
  return out;
}

/// (1/N) sum_i x_i ⊙ v_i for x [N, ..., d] and codes [N, d], as a flat vector over x's [...] and d.
inline std::vector<float> code_mux_ref(const Tensor& x, const Tensor& codes) {
  const int64_t n = codes.size(0), d = codes.size(1);
  const std::vector<float> xv = x.to_vector(), cv = codes.to_vector();
  const int64_t per = x.numel() / n;  // elements per instance
  std::vector<float> out(static_cast<std::size_t>(per), 0.f);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t e = 0; e < per; ++e) out[e] += xv[i * per + e] * cv[i * d + e % d] / static_cast<float>(n);
  return out;
}

/// Element-wise comparison with a flat expected vector.
inline void expect_values(const Tensor& actual, const std::vector<float>& expected, float atol = 1e-5f,
                          float rtol = 1e-4f) {
  const std::vector<float> a = actual.to_vector();
  ASSERT_EQ(a.size(), expected.size());
  for (std::size_t i = 0; i < a.size(); ++i)
    ASSERT_NEAR(a[i], expected[i], atol + rtol * std::fabs(expected[i])) << "element " << i;
}

/// Largest |a - b| over two tensors of the same size.
inline float max_abs_diff(const Tensor& a, const Tensor& b) {
  const std::vector<float> x = a.to_vector(), y = b.to_vector();
  float m = 0.f;
  for (std::size_t i = 0; i < x.size() && i < y.size(); ++i) m = std::max(m, std::fabs(x[i] - y[i]));
  return m;
}

/// Input [N, rest...] that is `one` in instance slot `slot` and zero in every other slot.
inline Tensor in_slot(const Tensor& one, int64_t n, int64_t slot) {
  const std::vector<float> v = one.to_vector();
  Shape shape{n};
  shape.insert(shape.end(), one.shape().begin(), one.shape().end());
  std::vector<float> x(static_cast<std::size_t>(n) * v.size(), 0.f);
  std::copy(v.begin(), v.end(), x.begin() + slot * static_cast<int64_t>(v.size()));
  return Tensor::from_vector(x, shape);
}

}  // namespace datamux::testing
