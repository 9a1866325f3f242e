// Exact (erf) GELU, vectorised. std::erf is a scalar libm call that GCC cannot vectorise, and it was
// about a quarter of a Transformer step. Here Phi(x) = (1 + erf(x/sqrt 2)) / 2 uses the
// Abramowitz-Stegun 7.1.26 form erf(z) = 1 - poly(t) exp(-z^2), t = 1/(1 + p|z|) (|error| < 1.5e-7),
// and exp(-x^2/2) comes from the dispatched vector exp kernel; the same exponential gives the pdf the
// backward pass needs, so forward and backward each cost one vector exp per element.
#include <datamux/core/tensor_util.hpp>
#include <datamux/ops.hpp>

#include <algorithm>
#include <cmath>

#include "vec_math.hpp"

namespace datamux::ops {
namespace {

constexpr int64_t kChunk = 2048;
constexpr float kInvSqrt2 = 0.70710678118654752f;
constexpr float kInvSqrt2Pi = 0.39894228040143268f;

// cdf[i] = Phi(x[i]); pdf[i] = phi(x[i]) when pdf is not null. n <= kChunk.
void normal_cdf_pdf(const float* x, float* cdf, float* pdf, int64_t n) {
  alignas(64) float e[kChunk];
  for (int64_t i = 0; i < n; ++i) e[i] = -0.5f * x[i] * x[i];
  detail::vec::kernels().exp(e, e, n);  // exp(-x^2/2) = exp(-z^2), z = x / sqrt(2)
  constexpr float p = 0.3275911f, a1 = 0.254829592f, a2 = -0.284496736f, a3 = 1.421413741f, a4 = -1.453152027f,
                  a5 = 1.061405429f;
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    const float z = std::fabs(x[i]) * kInvSqrt2;
    const float t = 1.f / (1.f + p * z);
    const float poly = t * (a1 + t * (a2 + t * (a3 + t * (a4 + t * a5))));
    const float erf_abs = 1.f - poly * e[i];
    cdf[i] = 0.5f * (1.f + (x[i] < 0.f ? -erf_abs : erf_abs));
  }
  if (pdf)
    for (int64_t i = 0; i < n; ++i) pdf[i] = kInvSqrt2Pi * e[i];
}

// Runs `body(begin, count)` over chunks of n in parallel.
template <class F>
void for_chunks(int64_t n, F body) {
  const int64_t chunks = (n + kChunk - 1) / kChunk;
#pragma omp parallel for if (n > 4 * kChunk)
  for (int64_t c = 0; c < chunks; ++c) body(c * kChunk, std::min(kChunk, n - c * kChunk));
}

}  // namespace

Tensor gelu(const Tensor& x) {
  detail::check_f32(x, "gelu", "x");
  Tensor scratch;
  const float* px = detail::contiguous_data(x, scratch);
  Tensor out = Tensor::empty(x.shape());
  float* o = out.data<float>();
  for_chunks(x.numel(), [&](int64_t b, int64_t n) {
    alignas(64) float cdf[kChunk];
    normal_cdf_pdf(px + b, cdf, nullptr, n);
    for (int64_t i = 0; i < n; ++i) o[b + i] = px[b + i] * cdf[i];
  });
  if (grad_enabled() && x.requires_grad()) {
    Tensor kx = x.detach();
    record(out, {x},
           [x, kx](const Tensor& g) {
             Tensor sx, sg;
             const float* px = detail::contiguous_data(kx, sx);
             const float* pg = detail::contiguous_data(g, sg);
             Tensor gx = Tensor::empty(g.shape());
             float* d = gx.data<float>();
             for_chunks(g.numel(), [&](int64_t b, int64_t n) {
               alignas(64) float cdf[kChunk], pdf[kChunk];
               normal_cdf_pdf(px + b, cdf, pdf, n);
               for (int64_t i = 0; i < n; ++i) d[b + i] = pg[b + i] * (cdf[i] + px[b + i] * pdf[i]);
             });
             accumulate_grad(x, gx);
           },
           "gelu");
  }
  return out;
}

}  // namespace datamux::ops
