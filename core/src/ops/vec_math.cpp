// Row kernels of vec_math.hpp: one template body over W float lanes, instantiated for AVX-512F (16),
// AVX2 (8) and the SSE2 baseline (4) under GCC target attributes, and chosen by CPUID at first use.
// Tails shorter than W go through a padded lane buffer, so every element takes the same vector path.
#include "vec_math.hpp"

#include <cstring>
#include <limits>
#include <string_view>

#pragma GCC diagnostic ignored "-Wpsabi"  // wide vector types pass by value only inside one target

namespace datamux::detail::vec {
namespace {

#define DATAMUX_INLINE inline __attribute__((always_inline))

template <int W>
struct Lanes {
  typedef float F __attribute__((vector_size(W * 4)));
  typedef int32_t I __attribute__((vector_size(W * 4)));
};

template <int W>
DATAMUX_INLINE typename Lanes<W>::F load(const float* p) {
  typename Lanes<W>::F v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

template <int W>
DATAMUX_INLINE void store(float* p, typename Lanes<W>::F v) {
  std::memcpy(p, &v, sizeof v);
}

// The first n (< W) values of p, the rest `fill`.
template <int W>
DATAMUX_INLINE typename Lanes<W>::F load_tail(const float* p, int64_t n, float fill) {
  float buf[W];
  for (int k = 0; k < W; ++k) buf[k] = fill;
  std::memcpy(buf, p, static_cast<std::size_t>(n) * sizeof(float));
  return load<W>(buf);
}

template <int W>
DATAMUX_INLINE void store_tail(float* p, typename Lanes<W>::F v, int64_t n) {
  float buf[W];
  store<W>(buf, v);
  std::memcpy(p, buf, static_cast<std::size_t>(n) * sizeof(float));
}

template <int W>
DATAMUX_INLINE typename Lanes<W>::F splat(float x) {
  return typename Lanes<W>::F{} + x;
}

template <int W>
DATAMUX_INLINE typename Lanes<W>::F vexp(typename Lanes<W>::F x) {
  using F = typename Lanes<W>::F;
  using I = typename Lanes<W>::I;
  constexpr float kLog2e = 1.44269504088896341f;
  constexpr float kLn2Hi = 0.693359375f;
  constexpr float kLn2Lo = -2.12194440e-4f;
  constexpr float kRound = 12582912.f;   // 1.5 * 2^23: adding it rounds to an integer in the low bits
  constexpr float kMin = -87.33654475f;  // below: 0 (2^n would be subnormal)
  constexpr float kMax = 88.72283905f;   // above: +inf
  F xc = x < kMin ? splat<W>(kMin) : x;
  xc = xc > kMax ? splat<W>(kMax) : xc;
  const F t = xc * kLog2e + kRound;
  const F n = t - kRound;
  const I ni = (I)t - 0x4B400000;  // integer value of n (a vector cast reinterprets the bits)
  const F r = (xc - n * kLn2Hi) - n * kLn2Lo;
  const F r2 = r * r;
  F p = splat<W>(1.9875691500e-4f);
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r2 + r + 1.f;
  // 2^n in two factors so n = 128 (x near kMax) does not overflow the exponent field.
  const I half = ni >> 1;
  const I b1 = (half + 127) << 23, b2 = (ni - half + 127) << 23;
  F y = p * (F)b1 * (F)b2;
  y = x < kMin ? F{} : y;
  return x > kMax ? splat<W>(std::numeric_limits<float>::infinity()) : y;
}

template <int W>
DATAMUX_INLINE float hsum(typename Lanes<W>::F v) {
  float s = 0.f;
  for (int k = 0; k < W; ++k) s += v[k];
  return s;
}

template <int W>
DATAMUX_INLINE float max_impl(const float* x, int64_t n) {
  using F = typename Lanes<W>::F;
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  F acc = splat<W>(kNegInf);
  int64_t i = 0;
  for (; i + W <= n; i += W) {
    const F v = load<W>(x + i);
    acc = v > acc ? v : acc;
  }
  if (i < n) {
    const F v = load_tail<W>(x + i, n - i, kNegInf);
    acc = v > acc ? v : acc;
  }
  float m = kNegInf;
  for (int k = 0; k < W; ++k) m = acc[k] > m ? acc[k] : m;
  return m;
}

template <int W>
DATAMUX_INLINE float sum_impl(const float* x, int64_t n) {
  using F = typename Lanes<W>::F;
  F acc{};
  int64_t i = 0;
  for (; i + W <= n; i += W) acc += load<W>(x + i);
  if (i < n) acc += load_tail<W>(x + i, n - i, 0.f);
  return hsum<W>(acc);
}

template <int W>
DATAMUX_INLINE float dot_impl(const float* a, const float* b, int64_t n) {
  using F = typename Lanes<W>::F;
  F acc{};
  int64_t i = 0;
  for (; i + W <= n; i += W) acc += load<W>(a + i) * load<W>(b + i);
  if (i < n) acc += load_tail<W>(a + i, n - i, 0.f) * load_tail<W>(b + i, n - i, 0.f);
  return hsum<W>(acc);
}

template <int W>
DATAMUX_INLINE float exp_sum_impl(const float* x, float shift, float* y, int64_t n) {
  using F = typename Lanes<W>::F;
  F acc{};
  int64_t i = 0;
  for (; i + W <= n; i += W) {
    const F e = vexp<W>(load<W>(x + i) - shift);
    if (y) store<W>(y + i, e);
    acc += e;
  }
  if (i < n) {
    // Padding with -inf gives exp = 0, so the padded lanes add nothing.
    const F e = vexp<W>(load_tail<W>(x + i, n - i, -std::numeric_limits<float>::infinity()) - shift);
    if (y) store_tail<W>(y + i, e, n - i);
    acc += e;
  }
  return hsum<W>(acc);
}

template <int W>
DATAMUX_INLINE void exp_impl(const float* x, float* y, int64_t n) {
  int64_t i = 0;
  for (; i + W <= n; i += W) store<W>(y + i, vexp<W>(load<W>(x + i)));
  if (i < n) store_tail<W>(y + i, vexp<W>(load_tail<W>(x + i, n - i, 0.f)), n - i);
}

template <int W>
DATAMUX_INLINE void moments_impl(const float* x, float shift, int64_t n, float* s, float* ss) {
  using F = typename Lanes<W>::F;
  F a{}, b{};
  int64_t i = 0;
  for (; i + W <= n; i += W) {
    const F d = load<W>(x + i) - shift;
    a += d;
    b += d * d;
  }
  if (i < n) {
    const F d = load_tail<W>(x + i, n - i, shift) - shift;  // padded lanes are exactly 0
    a += d;
    b += d * d;
  }
  *s = hsum<W>(a);
  *ss = hsum<W>(b);
}

#define DATAMUX_VEC_KERNEL_SET(NS, TARGET, W)                                                                         \
  namespace NS {                                                                                                      \
  TARGET float max(const float* x, int64_t n) { return max_impl<W>(x, n); }                                           \
  TARGET float sum(const float* x, int64_t n) { return sum_impl<W>(x, n); }                                           \
  TARGET float dot(const float* a, const float* b, int64_t n) { return dot_impl<W>(a, b, n); }                        \
  TARGET float exp_sum(const float* x, float s, float* y, int64_t n) { return exp_sum_impl<W>(x, s, y, n); }          \
  TARGET void exp(const float* x, float* y, int64_t n) { exp_impl<W>(x, y, n); }                                      \
  TARGET void moments(const float* x, float sh, int64_t n, float* s, float* ss) { moments_impl<W>(x, sh, n, s, ss); } \
  }

DATAMUX_VEC_KERNEL_SET(avx512, __attribute__((target("avx512f"))), 16)
DATAMUX_VEC_KERNEL_SET(avx2, __attribute__((target("avx2"))), 8)
DATAMUX_VEC_KERNEL_SET(sse2, , 4)

#define DATAMUX_VEC_KERNELS_OF(NS) \
  Kernels { NS::max, NS::sum, NS::dot, NS::exp_sum, NS::exp, NS::moments, #NS }

Kernels select() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return DATAMUX_VEC_KERNELS_OF(avx512);
  if (__builtin_cpu_supports("avx2")) return DATAMUX_VEC_KERNELS_OF(avx2);
  return DATAMUX_VEC_KERNELS_OF(sse2);
}

}  // namespace

const Kernels& kernels() {
  static const Kernels k = select();
  return k;
}

const Kernels* kernels_for(const char* isa) {
  static const Kernels k512 = DATAMUX_VEC_KERNELS_OF(avx512), k256 = DATAMUX_VEC_KERNELS_OF(avx2),
                       k128 = DATAMUX_VEC_KERNELS_OF(sse2);
  __builtin_cpu_init();
  const std::string_view name(isa);
  if (name == "avx512") return __builtin_cpu_supports("avx512f") ? &k512 : nullptr;
  if (name == "avx2") return __builtin_cpu_supports("avx2") ? &k256 : nullptr;
  if (name == "sse2") return &k128;
  return nullptr;
}

}  // namespace datamux::detail::vec
