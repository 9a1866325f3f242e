// softmax and log_softmax over any dim, with closed-form backward from the saved output.
//
// x is viewed as [outer, n, inner] with n the normalised dim. inner == 1 (the last dim, the common
// case) runs one fused pass per row: max, then exp(x - max) stored and summed, then a scale. Other
// dims process blocks of the inner axis column-wise so the loads stay contiguous.
// Backward: softmax dx = y * (g - sum(g * y)); log_softmax dx = g - exp(y) * sum(g).
#include <datamux/core/tensor_util.hpp>
#include <datamux/ops.hpp>

#include <algorithm>
#include <cmath>
#include <limits>

#include "vec_math.hpp"

namespace datamux::ops {
namespace {

namespace vec = datamux::detail::vec;

constexpr int64_t kParallelMin = 1 << 14;
constexpr int64_t kBlock = 64;  // inner-axis columns handled together when inner > 1

struct Axis {
  int64_t outer = 1, n = 1, inner = 1;
};

Axis split_axis(const Shape& shape, int64_t dim) {
  Axis a;
  if (shape.empty()) return a;
  for (int64_t i = 0; i < dim; ++i) a.outer *= shape[i];
  a.n = shape[dim];
  for (std::size_t i = dim + 1; i < shape.size(); ++i) a.inner *= shape[i];
  return a;
}

template <bool kLog>
void softmax_row(const vec::Kernels& k, const float* x, float* y, int64_t n) {
  const float m = k.max(x, n);
  if constexpr (kLog) {
    const float lse = m + std::log(k.exp_sum(x, m, nullptr, n));
    for (int64_t i = 0; i < n; ++i) y[i] = x[i] - lse;
  } else {
    const float inv = 1.f / k.exp_sum(x, m, y, n);
    for (int64_t i = 0; i < n; ++i) y[i] *= inv;
  }
}

// Columns [c0, c0 + w) of one outer slice; element (j, c) sits at j * inner + c.
template <bool kLog>
void softmax_block(const vec::Kernels& k, const float* x, float* y, int64_t n, int64_t inner, int64_t w) {
  float m[kBlock], s[kBlock], e[kBlock];
  std::fill_n(m, w, -std::numeric_limits<float>::infinity());
  std::fill_n(s, w, 0.f);
  for (int64_t j = 0; j < n; ++j) {
    const float* r = x + j * inner;
    for (int64_t c = 0; c < w; ++c) m[c] = r[c] > m[c] ? r[c] : m[c];
  }
  for (int64_t j = 0; j < n; ++j) {
    const float* r = x + j * inner;
    float* o = kLog ? e : y + j * inner;
    for (int64_t c = 0; c < w; ++c) o[c] = r[c] - m[c];
    k.exp(o, o, w);
    for (int64_t c = 0; c < w; ++c) s[c] += o[c];
  }
  if constexpr (kLog) {
    for (int64_t c = 0; c < w; ++c) m[c] += std::log(s[c]);
    for (int64_t j = 0; j < n; ++j) {
      const float* r = x + j * inner;
      float* o = y + j * inner;
      for (int64_t c = 0; c < w; ++c) o[c] = r[c] - m[c];
    }
  } else {
    for (int64_t c = 0; c < w; ++c) s[c] = 1.f / s[c];
    for (int64_t j = 0; j < n; ++j) {
      float* o = y + j * inner;
      for (int64_t c = 0; c < w; ++c) o[c] *= s[c];
    }
  }
}

template <bool kLog>
void softmax_forward(const float* x, float* y, const Axis& a) {
  const vec::Kernels& k = vec::kernels();
  const int64_t total = a.outer * a.n * a.inner;
  if (a.inner == 1) {
#pragma omp parallel for if (total > kParallelMin)
    for (int64_t o = 0; o < a.outer; ++o) softmax_row<kLog>(k, x + o * a.n, y + o * a.n, a.n);
    return;
  }
  const int64_t nb = (a.inner + kBlock - 1) / kBlock;
#pragma omp parallel for collapse(2) if (total > kParallelMin)
  for (int64_t o = 0; o < a.outer; ++o)
    for (int64_t b = 0; b < nb; ++b) {
      const int64_t off = o * a.n * a.inner + b * kBlock;
      softmax_block<kLog>(k, x + off, y + off, a.n, a.inner, std::min(kBlock, a.inner - b * kBlock));
    }
}

// dx from g and the saved output y along one contiguous row.
template <bool kLog>
void softmax_backward_row(const vec::Kernels& k, const float* g, const float* y, float* dx, int64_t n) {
  if constexpr (kLog) {
    const float s = k.sum(g, n);
    k.exp(y, dx, n);
    for (int64_t i = 0; i < n; ++i) dx[i] = g[i] - dx[i] * s;
  } else {
    const float s = k.dot(g, y, n);
    for (int64_t i = 0; i < n; ++i) dx[i] = y[i] * (g[i] - s);
  }
}

template <bool kLog>
void softmax_backward_block(const vec::Kernels& k, const float* g, const float* y, float* dx, int64_t n, int64_t inner,
                            int64_t w) {
  float s[kBlock], e[kBlock];
  std::fill_n(s, w, 0.f);
  for (int64_t j = 0; j < n; ++j) {
    const float* rg = g + j * inner;
    const float* ry = y + j * inner;
    for (int64_t c = 0; c < w; ++c) s[c] += kLog ? rg[c] : rg[c] * ry[c];
  }
  for (int64_t j = 0; j < n; ++j) {
    const float* rg = g + j * inner;
    const float* ry = y + j * inner;
    float* o = dx + j * inner;
    if constexpr (kLog) {
      k.exp(ry, e, w);
      for (int64_t c = 0; c < w; ++c) o[c] = rg[c] - e[c] * s[c];
    } else {
      for (int64_t c = 0; c < w; ++c) o[c] = ry[c] * (rg[c] - s[c]);
    }
  }
}

template <bool kLog>
Tensor softmax_backward(const Tensor& grad, const Tensor& y, const Axis& a) {
  Tensor scratch;
  const float* g = datamux::detail::contiguous_data(grad, scratch);
  const float* py = y.data<float>();
  Tensor dx = Tensor::empty(y.shape());
  float* d = dx.data<float>();
  const vec::Kernels& k = vec::kernels();
  const int64_t total = a.outer * a.n * a.inner;
  if (a.inner == 1) {
#pragma omp parallel for if (total > kParallelMin)
    for (int64_t o = 0; o < a.outer; ++o) softmax_backward_row<kLog>(k, g + o * a.n, py + o * a.n, d + o * a.n, a.n);
    return dx;
  }
  const int64_t nb = (a.inner + kBlock - 1) / kBlock;
#pragma omp parallel for collapse(2) if (total > kParallelMin)
  for (int64_t o = 0; o < a.outer; ++o)
    for (int64_t b = 0; b < nb; ++b) {
      const int64_t off = o * a.n * a.inner + b * kBlock;
      softmax_backward_block<kLog>(k, g + off, py + off, d + off, a.n, a.inner, std::min(kBlock, a.inner - b * kBlock));
    }
  return dx;
}

template <bool kLog>
Tensor softmax_impl(const Tensor& x, int64_t dim_in, const char* name) {
  datamux::detail::check_f32(x, name, "x");
  const int64_t dim = datamux::detail::wrap_dim(dim_in, x.dim(), name);
  const Axis a = split_axis(x.shape(), dim);
  Tensor scratch;
  const float* px = datamux::detail::contiguous_data(x, scratch);
  Tensor out = Tensor::empty(x.shape());
  softmax_forward<kLog>(px, out.data<float>(), a);
  if (grad_enabled() && x.requires_grad()) {
    Tensor y = out.detach();
    record(
        out, {x}, [x, y, a](const Tensor& g) { accumulate_grad(x, softmax_backward<kLog>(g, y, a)); }, name);
  }
  return out;
}

}  // namespace

Tensor softmax(const Tensor& x, int64_t dim) { return softmax_impl<false>(x, dim, "softmax"); }

Tensor log_softmax(const Tensor& x, int64_t dim) { return softmax_impl<true>(x, dim, "log_softmax"); }

}  // namespace datamux::ops
