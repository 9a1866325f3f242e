// ops::scaled_dot_product_attention: one fused op with its own backward.
//
//   S = q k^T * scale (oneDNN matmul, scale fused)   P = masked_softmax(S) (in place)   out = P v
//
// The softmax is a tight OpenMP loop over rows: masked keys get probability exactly 0 (so they have no
// influence on the output nor receive gradient), and a row whose keys are all masked is all zeros
// instead of NaN. P is kept for the backward pass:
//
//   dV = P^T dO   dP = dO v^T   dS = P * (dP - rowsum(dP * P)) * scale   dQ = dS k   dK = dS^T q
//
// The row kernels are compiled for AVX-512, AVX2 and baseline x86-64 and picked at load time
// (target_clones), so the build needs no -march flag.
#include <datamux/core/matmul_kernel.hpp>
#include <datamux/core/tensor_util.hpp>
#include <datamux/ops.hpp>

#include <fmt/format.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define DATAMUX_MULTIVERSION __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define DATAMUX_MULTIVERSION
#endif

namespace datamux::ops {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// exp(x) for x <= 0 (softmax arguments after subtracting the row max), within ~2 ulp of std::exp.
// Cephes' expf: Cody-Waite reduction x = n ln2 + r, degree-6 polynomial, 2^n assembled in the exponent
// bits. Written branch-free and without std::floor so the row loops vectorise.
inline float exp_nonpositive(float x) {
  x = x < -87.f ? -87.f : x;
  const float n = (x * 1.44269504088896341f + 12582912.f) - 12582912.f;  // round to nearest (1.5 * 2^23 trick)
  const float r = x - n * 0.693359375f + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float y = p * r * r + r + 1.f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  return y * std::bit_cast<float>(bits);
}

// In place: s <- softmax(s) over keys with mask[j] != 0 (all keys when mask is null).
DATAMUX_MULTIVERSION
void masked_softmax_row(float* s, const float* mask, int64_t n) {
  float mx = kNegInf;
  if (mask) {
#pragma omp simd reduction(max : mx)
    for (int64_t j = 0; j < n; ++j) mx = std::max(mx, mask[j] != 0.f ? s[j] : kNegInf);
  } else {
#pragma omp simd reduction(max : mx)
    for (int64_t j = 0; j < n; ++j) mx = std::max(mx, s[j]);
  }
  if (mx == kNegInf) {  // every key masked
    for (int64_t j = 0; j < n; ++j) s[j] = 0.f;
    return;
  }
  float sum = 0.f;
  if (mask) {
#pragma omp simd reduction(+ : sum)
    for (int64_t j = 0; j < n; ++j) {
      const float e = mask[j] != 0.f ? exp_nonpositive(s[j] - mx) : 0.f;
      s[j] = e;
      sum += e;
    }
  } else {
#pragma omp simd reduction(+ : sum)
    for (int64_t j = 0; j < n; ++j) {
      const float e = exp_nonpositive(s[j] - mx);
      s[j] = e;
      sum += e;
    }
  }
  const float inv = 1.f / sum;
#pragma omp simd
  for (int64_t j = 0; j < n; ++j) s[j] *= inv;
}

// In place: dp <- p * (dp - <dp, p>) * scale, the softmax Jacobian applied to one row.
DATAMUX_MULTIVERSION
void softmax_backward_row(float* dp, const float* p, int64_t n, float scale) {
  float dot = 0.f;
#pragma omp simd reduction(+ : dot)
  for (int64_t j = 0; j < n; ++j) dot += dp[j] * p[j];
#pragma omp simd
  for (int64_t j = 0; j < n; ++j) dp[j] = p[j] * (dp[j] - dot) * scale;
}

void check_qkv(const Tensor& t, const char* name) {
  detail::check_f32(t, "scaled_dot_product_attention", name);
  if (t.dim() != 4)
    throw std::invalid_argument(
        fmt::format("scaled_dot_product_attention: {} must be [B, H, L, D], got shape {}", name, shape_str(t.shape())));
}

}  // namespace

Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& key_padding_mask) {
  check_qkv(q, "q");
  check_qkv(k, "k");
  check_qkv(v, "v");
  const int64_t b = q.size(0), h = q.size(1), lq = q.size(2), d = q.size(3), lk = k.size(2);
  if (k.size(0) != b || k.size(1) != h || k.size(3) != d || v.size(0) != b || v.size(1) != h || v.size(2) != lk)
    throw std::invalid_argument(fmt::format(
        "scaled_dot_product_attention: shapes do not fit: q {}, k {}, v {} (need q [B,H,Lq,D], k [B,H,Lk,D], v [B,H,Lk,Dv])",
        shape_str(q.shape()), shape_str(k.shape()), shape_str(v.shape())));
  Tensor mask;
  if (key_padding_mask.defined()) {
    detail::check_f32(key_padding_mask, "scaled_dot_product_attention", "key_padding_mask");
    if (key_padding_mask.shape() != Shape{b, lk})
      throw std::invalid_argument(fmt::format(
          "scaled_dot_product_attention: key_padding_mask must be [B, Lk] = [{}, {}] (1 = token, 0 = padding), got {}", b, lk,
          shape_str(key_padding_mask.shape())));
    mask = key_padding_mask.detach().contiguous();
  }
  const float scale = d > 0 ? 1.f / std::sqrt(static_cast<float>(d)) : 1.f;
  Tensor kq = q.detach(), kk = k.detach(), kv = v.detach();

  Tensor p = detail::matmul_nograd(kq, kk, false, true, nullptr, scale);  // [B, H, Lq, Lk]
  {
    float* ps = p.data<float>();
    const float* pm = mask.defined() ? mask.data<float>() : nullptr;
    const int64_t rows = b * h * lq;
#pragma omp parallel for if (rows * lk > (1 << 14))
    for (int64_t r = 0; r < rows; ++r) masked_softmax_row(ps + r * lk, pm ? pm + (r / (h * lq)) * lk : nullptr, lk);
  }
  Tensor out = detail::matmul_nograd(p, kv, false, false);  // [B, H, Lq, Dv]
  if (!grad_enabled() || !any_requires_grad({q, k, v})) return out;

  record(out, {q, k, v},
         [q, k, v, kq, kk, kv, p, scale, lk](const Tensor& g) {
           if (v.requires_grad()) accumulate_grad(v, detail::matmul_nograd(p, g, true, false));
           if (!q.requires_grad() && !k.requires_grad()) return;
           Tensor ds = detail::matmul_nograd(g, kv, false, true);  // dP, then dS in place
           float* pds = ds.data<float>();
           const float* pp = p.data<float>();
           const int64_t rows = ds.numel() / std::max<int64_t>(lk, 1);
#pragma omp parallel for if (rows * lk > (1 << 14))
           for (int64_t r = 0; r < rows; ++r) softmax_backward_row(pds + r * lk, pp + r * lk, lk, scale);
           if (q.requires_grad()) accumulate_grad(q, detail::matmul_nograd(ds, kk, false, false));
           if (k.requires_grad()) accumulate_grad(k, detail::matmul_nograd(ds, kq, true, false));
         },
         "scaled_dot_product_attention");
  return out;
}

}  // namespace datamux::ops
