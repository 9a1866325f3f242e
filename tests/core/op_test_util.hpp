// op_test_util.hpp - inputs for the op test tables: random shapes, value domains and memory layouts.
//
// A test input is a contiguous leaf (what gradcheck perturbs) plus a layout that turns it into the
// tensor the op sees: the leaf itself, a transposed view, or a slice of a wider leaf. Views are
// rebuilt inside the function under test, so every gradcheck evaluation walks a fresh graph.
#pragma once

#include <datamux/ops.hpp>
#include <datamux/tensor.hpp>

#include <cmath>
#include <string>
#include <vector>

namespace datamux::testing {

enum class Layout { Contiguous, Transposed, Sliced };

inline const char* layout_name(Layout l) {
  switch (l) {
    case Layout::Contiguous: return "contiguous";
    case Layout::Transposed: return "transposed";
    case Layout::Sliced: return "sliced";
  }
  return "?";
}

/// Value domains keep finite differences away from kinks and singularities.
enum class Domain {
  Normal,        // N(0, 1)
  Positive,      // U(0.5, 2): log, sqrt, divisors
  AwayFromZero,  // |x| in U(0.2, 2), random sign: relu
};

/// Transposed needs rank >= 2; it falls back to Sliced for rank 1 and to Contiguous for scalars.
inline Layout usable_layout(Layout l, std::size_t rank) {
  if (rank == 0) return Layout::Contiguous;
  if (l == Layout::Transposed && rank < 2) return Layout::Sliced;
  return l;
}

/// Shape of the leaf that `view_of` turns into `shape`.
inline Shape leaf_shape(const Shape& shape, Layout l) {
  Shape s = shape;
  switch (usable_layout(l, shape.size())) {
    case Layout::Contiguous: break;
    case Layout::Transposed: std::swap(s[s.size() - 1], s[s.size() - 2]); break;
    case Layout::Sliced: s.back() += 3; break;
  }
  return s;
}

/// The tensor of logical shape `shape` that an op sees, built from `leaf` (differentiable).
inline Tensor view_of(const Tensor& leaf, const Shape& shape, Layout l) {
  switch (usable_layout(l, shape.size())) {
    case Layout::Contiguous: return leaf;
    case Layout::Transposed: return leaf.transpose(-1, -2);
    case Layout::Sliced: return leaf.slice(-1, 1, 1 + shape.back());
  }
  return leaf;
}

inline Tensor random_values(const Shape& shape, Domain d, Rng& rng) {
  switch (d) {
    case Domain::Normal: return Tensor::randn(shape, rng);
    case Domain::Positive: return Tensor::uniform(shape, rng, 0.5f, 2.f);
    case Domain::AwayFromZero: {
      Tensor t = Tensor::uniform(shape, rng, 0.2f, 2.f);
      float* p = t.data<float>();
      for (int64_t i = 0; i < t.numel(); ++i)
        if (rng.uniform() < 0.5f) p[i] = -p[i];
      return t;
    }
  }
  return Tensor();
}

/// A trainable leaf for an input of logical shape `shape` seen through layout `l`.
inline Tensor make_leaf(const Shape& shape, Layout l, Domain d, Rng& rng) {
  return random_values(leaf_shape(shape, l), d, rng).set_requires_grad(true);
}

/// Random shape of rank in [min_rank, max_rank] with sizes in [1, max_size].
inline Shape random_shape(Rng& rng, int64_t min_rank, int64_t max_rank, int64_t max_size = 4) {
  Shape s(static_cast<std::size_t>(rng.randint(min_rank, max_rank + 1)));
  for (int64_t& v : s) v = rng.randint(1, max_size + 1);
  return s;
}

/// Two shapes that broadcast against each other: some leading dims dropped from one side and some
/// dims set to 1 on either side, so broadcasting is exercised in both directions.
inline std::pair<Shape, Shape> random_broadcast_pair(Rng& rng) {
  Shape a = random_shape(rng, 1, 3);
  for (int64_t& v : a) v = std::max<int64_t>(v, 2);
  Shape b = a;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const float u = rng.uniform();
    if (u < 0.25f) b[i] = 1;
    else if (u < 0.45f) a[i] = 1;
  }
  const int64_t drop = rng.randint(0, static_cast<int64_t>(b.size()) + 1);
  b.erase(b.begin(), b.begin() + drop);
  if (rng.uniform() < 0.5f) std::swap(a, b);
  return {a, b};
}

/// Element of `t` at `out_index` of a broadcast result (trailing dims aligned, size-1 dims repeat).
inline float at_broadcast(const Tensor& t, const std::vector<int64_t>& out_index) {
  std::vector<int64_t> idx(static_cast<std::size_t>(t.dim()));
  const std::size_t lead = out_index.size() - idx.size();
  for (std::size_t i = 0; i < idx.size(); ++i) idx[i] = t.shape()[i] == 1 ? 0 : out_index[lead + i];
  return t.at(idx);
}

/// Calls f(index) for every multi-index of `shape` in row-major order.
template <class F>
void for_each_index(const Shape& shape, F f) {
  const int64_t n = shape_numel(shape);
  std::vector<int64_t> idx(shape.size(), 0);
  for (int64_t k = 0; k < n; ++k) {
    f(idx);
    for (int64_t d = static_cast<int64_t>(shape.size()) - 1; d >= 0; --d) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
}

}  // namespace datamux::testing
