// Layer norm over the last dim: y = (x - mean) * rstd * weight + bias, rstd = 1 / sqrt(var + eps).
//
// oneDNN 2.6's layer norm is a reference kernel on our shapes, so this is an OpenMP loop over rows.
// Forward: one pass per row for mean and variance (shifted by the row's first element, so a large
// mean does not cancel the variance), then one pass to normalise; mean and rstd are kept per row.
// Backward, with xhat = (x - mean) * rstd and gw = g * weight:
//   dx = rstd * (gw - mean(gw) - xhat * mean(gw * xhat)),  dweight = sum_rows g * xhat,  dbias = sum_rows g.
// dweight/dbias accumulate per thread over a static row split and are then reduced in thread order,
// so the result is deterministic for a given thread count.
#include <datamux/core/tensor_util.hpp>
#include <datamux/ops.hpp>

#include <fmt/format.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "layer_norm_row.hpp"
#include "vec_math.hpp"

namespace datamux::ops {
namespace {

namespace vec = datamux::detail::vec;

constexpr int64_t kParallelMin = 1 << 14;

void forward_rows(const float* x, const float* w, const float* b, float* y, float* mean, float* rstd, int64_t rows,
                  int64_t d, float eps) {
#pragma omp parallel for if (rows * d > kParallelMin)
  for (int64_t r = 0; r < rows; ++r) layer_norm_row(x + r * d, w, b, y + r * d, d, eps, &mean[r], &rstd[r]);
}

struct Grads {
  float* dx = nullptr;  // [rows, d] or null
  float* dw = nullptr;  // [d] or null
  float* db = nullptr;  // [d] or null
};

void backward_rows(const float* g, const float* x, const float* w, const float* mean, const float* rstd, int64_t rows,
                   int64_t d, Grads out) {
  const bool params = out.dw || out.db;
  const int max_threads = rows * d > kParallelMin ? omp_get_max_threads() : 1;
  // Per thread, from the caching allocator: [dw partial | db partial | xhat row | g*w row].
  Tensor scratch = Tensor::zeros({max_threads, 4, d});
  float* part = scratch.data<float>();
  int used_threads = 1;
  const float inv_d = 1.f / static_cast<float>(d);
  const vec::Kernels& k = vec::kernels();
#pragma omp parallel num_threads(max_threads)
  {
    const int tid = omp_get_thread_num();
#pragma omp single
    used_threads = omp_get_num_threads();
    float* pw = part + static_cast<int64_t>(tid) * 4 * d;
    float* pb = pw + d;
    float* xh = pb + d;
    float* gw = xh + d;
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      const float* gr = g + r * d;
      const float* xr = x + r * d;
      const float m = mean[r], rs = rstd[r];
      for (int64_t i = 0; i < d; ++i) xh[i] = (xr[i] - m) * rs;
      if (out.dx) {
        const float* gws = gr;
        if (w) {
          for (int64_t i = 0; i < d; ++i) gw[i] = gr[i] * w[i];
          gws = gw;
        }
        const float s1 = k.sum(gws, d) * inv_d;      // mean(gw)
        const float s2 = k.dot(gws, xh, d) * inv_d;  // mean(gw * xhat)
        float* dxr = out.dx + r * d;
        for (int64_t i = 0; i < d; ++i) dxr[i] = rs * (gws[i] - s1 - xh[i] * s2);
      }
      if (params) {
        for (int64_t i = 0; i < d; ++i) {
          pw[i] += gr[i] * xh[i];
          pb[i] += gr[i];
        }
      }
    }
  }
  if (!params) return;
#pragma omp parallel for if (d * used_threads > kParallelMin)
  for (int64_t i = 0; i < d; ++i) {
    float sw = 0.f, sb = 0.f;
    for (int t = 0; t < used_threads; ++t) {
      sw += part[t * 4 * d + i];
      sb += part[t * 4 * d + d + i];
    }
    if (out.dw) out.dw[i] = sw;
    if (out.db) out.db[i] = sb;
  }
}

void check_param(const Tensor& p, const char* arg, int64_t d) {
  if (!p.defined()) return;
  datamux::detail::check_f32(p, "layer_norm", arg);
  if (p.dim() != 1 || p.size(0) != d)
    throw std::invalid_argument(fmt::format("layer_norm: {} has shape {}, expected [{}] (the size of x's last dim)",
                                            arg, shape_str(p.shape()), d));
}

}  // namespace

Tensor layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, float eps) {
  datamux::detail::check_f32(x, "layer_norm", "x");
  if (x.dim() == 0) throw std::invalid_argument("layer_norm: x is a scalar; it needs at least one dim to normalise");
  const int64_t d = x.size(-1);
  if (d == 0) throw std::invalid_argument("layer_norm: x has shape " + shape_str(x.shape()) + ", last dim is empty");
  if (!(eps >= 0.f)) throw std::invalid_argument(fmt::format("layer_norm: eps must be >= 0, got {}", eps));
  check_param(weight, "weight", d);
  check_param(bias, "bias", d);
  const int64_t rows = x.numel() / d;

  Tensor xs, ws, bs;
  const float* px = datamux::detail::contiguous_data(x, xs);
  const float* pw = weight.defined() ? datamux::detail::contiguous_data(weight, ws) : nullptr;
  const float* pb = bias.defined() ? datamux::detail::contiguous_data(bias, bs) : nullptr;
  Tensor out = Tensor::empty(x.shape());
  Tensor mean = Tensor::empty({rows}), rstd = Tensor::empty({rows});
  forward_rows(px, pw, pb, out.data<float>(), mean.data<float>(), rstd.data<float>(), rows, d, eps);

  if (grad_enabled() && any_requires_grad({x, weight, bias})) {
    Tensor kx = xs.defined() ? xs : x.detach();
    Tensor kw = !weight.defined() ? Tensor() : ws.defined() ? ws : weight.detach();
    record(
        out, {x, weight, bias},
        [x, weight, bias, kx, kw, mean, rstd, rows, d](const Tensor& g) {
          Tensor gs;
          const float* pg = datamux::detail::contiguous_data(g, gs);
          Tensor dx = x.requires_grad() ? Tensor::empty(x.shape()) : Tensor();
          Tensor dw = weight.defined() && weight.requires_grad() ? Tensor::empty({d}) : Tensor();
          Tensor db = bias.defined() && bias.requires_grad() ? Tensor::empty({d}) : Tensor();
          Grads grads{dx.defined() ? dx.data<float>() : nullptr, dw.defined() ? dw.data<float>() : nullptr,
                      db.defined() ? db.data<float>() : nullptr};
          backward_rows(pg, kx.data<float>(), kw.defined() ? kw.data<float>() : nullptr, mean.data<float>(),
                        rstd.data<float>(), rows, d, grads);
          if (dx.defined()) accumulate_grad(x, dx);
          if (dw.defined()) accumulate_grad(weight, dw);
          if (db.defined()) accumulate_grad(bias, db);
        },
        "layer_norm");
  }
  return out;
}

}  // namespace datamux::ops
