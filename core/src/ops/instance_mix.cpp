// ops::instance_weighted_mean: out[m, k] = (1/N) sum_i x[i, m, k] w[i, k], the code multiplexers'
// mix, in one pass.
//
// As mean(mul(x, w), 0) it wrote and re-read an [N, M, d] product: at N = 40 on 16 rows of 105 tokens,
// 69 MB each way per forward. Here each output row accumulates the N weighted instance rows in
// registers/L1. Backward: dx[i, m, k] = g[m, k] w[i, k] / N; dw[i, k] = (1/N) sum_m g[m, k] x[i, m, k],
// parallel over i so each thread owns its rows of dw (deterministic for any thread count).
#include <datamux/core/tensor_util.hpp>
#include <datamux/ops.hpp>

#include <fmt/format.h>

#include <stdexcept>

namespace datamux::ops {
namespace {

constexpr int64_t kParallelMin = 1 << 15;

void check_shapes(const Tensor& x, const Tensor& w) {
  detail::check_f32(x, "instance_weighted_mean", "x");
  detail::check_f32(w, "instance_weighted_mean", "w");
  if (x.dim() != 3 || w.dim() != 2 || w.size(0) != x.size(0) || w.size(1) != x.size(2))
    throw std::invalid_argument(fmt::format("instance_weighted_mean: expected x [N, M, d] and w [N, d], got x {} and w {}",
                                            shape_str(x.shape()), shape_str(w.shape())));
  if (x.size(0) == 0) throw std::invalid_argument("instance_weighted_mean: N = 0 instances");
}

void mix_forward(const float* px, const float* pw, float* po, int64_t n, int64_t m, int64_t d, float inv_n) {
#pragma omp parallel for if (n * m * d > kParallelMin)
  for (int64_t r = 0; r < m; ++r) {
    float* o = po + r * d;
#pragma omp simd
    for (int64_t k = 0; k < d; ++k) o[k] = 0.f;
    for (int64_t i = 0; i < n; ++i) {
      const float* xi = px + (i * m + r) * d;
      const float* wi = pw + i * d;
#pragma omp simd
      for (int64_t k = 0; k < d; ++k) o[k] += xi[k] * wi[k];
    }
#pragma omp simd
    for (int64_t k = 0; k < d; ++k) o[k] *= inv_n;
  }
}

Tensor grad_x(const float* pg, const float* pw, int64_t n, int64_t m, int64_t d, float inv_n) {
  Tensor dx = Tensor::empty({n, m, d});
  float* pd = dx.data<float>();
#pragma omp parallel for collapse(2) if (n * m * d > kParallelMin)
  for (int64_t i = 0; i < n; ++i)
    for (int64_t r = 0; r < m; ++r) {
      const float* gr = pg + r * d;
      const float* wi = pw + i * d;
      float* o = pd + (i * m + r) * d;
#pragma omp simd
      for (int64_t k = 0; k < d; ++k) o[k] = gr[k] * wi[k] * inv_n;
    }
  return dx;
}

Tensor grad_w(const float* pg, const float* px, int64_t n, int64_t m, int64_t d, float inv_n) {
  Tensor dw = Tensor::zeros({n, d});
  float* pd = dw.data<float>();
#pragma omp parallel for if (n * m * d > kParallelMin)
  for (int64_t i = 0; i < n; ++i) {
    float* o = pd + i * d;
    for (int64_t r = 0; r < m; ++r) {
      const float* gr = pg + r * d;
      const float* xi = px + (i * m + r) * d;
#pragma omp simd
      for (int64_t k = 0; k < d; ++k) o[k] += gr[k] * xi[k];
    }
#pragma omp simd
    for (int64_t k = 0; k < d; ++k) o[k] *= inv_n;
  }
  return dw;
}

}  // namespace

Tensor instance_weighted_mean(const Tensor& x, const Tensor& w) {
  check_shapes(x, w);
  const int64_t n = x.size(0), m = x.size(1), d = x.size(2);
  Tensor xs, ws;
  const float* px = detail::contiguous_data(x, xs);
  const float* pw = detail::contiguous_data(w, ws);
  Tensor out = Tensor::empty({m, d});
  const float inv_n = 1.f / static_cast<float>(n);
  mix_forward(px, pw, out.data<float>(), n, m, d, inv_n);
  if (!grad_enabled() || !any_requires_grad({x, w})) return out;
  const Tensor kx = xs.defined() ? xs : x.detach(), kw = ws.defined() ? ws : w.detach();
  record(out, {x, w},
         [x, w, kx, kw, n, m, d, inv_n](const Tensor& g) {
           Tensor gs;
           const float* pg = detail::contiguous_data(g, gs);
           if (x.requires_grad()) accumulate_grad(x, grad_x(pg, kw.data<float>(), n, m, d, inv_n));
           if (w.requires_grad()) accumulate_grad(w, grad_w(pg, kx.data<float>(), n, m, d, inv_n));
         },
         "instance_weighted_mean");
  return out;
}

}  // namespace datamux::ops
