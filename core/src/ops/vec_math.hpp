// vec_math.hpp - branch-free float maths that GCC vectorises inside `#pragma omp simd` loops.
//
// glibc's expf only has vector variants under -ffast-math, so a softmax row over std::exp runs one
// lane at a time. exp_approx is the Cephes expf polynomial (max error ~2 ulp on [-87, 88]) written
// without branches or calls: range reduction by the 1.5*2^23 rounding trick, a degree-6 polynomial,
// and 2^n built in the exponent bits. Private to the op implementations.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace datamux::detail {

inline float exp_approx(float x) {
  constexpr float kLog2e = 1.44269504088896341f;
  constexpr float kLn2Hi = 0.693359375f;
  constexpr float kLn2Lo = -2.12194440e-4f;
  constexpr float kRound = 12582912.f;  // 1.5 * 2^23: adding it rounds to an integer in the low bits
  constexpr float kMin = -87.33654475f;  // below: result is 0 (2^n would be subnormal)
  constexpr float kMax = 88.72283905f;   // above: +inf via the overflowing exponent clamp
  const float xc = std::min(std::max(x, kMin), kMax);
  const float t = xc * kLog2e + kRound;
  const float n = t - kRound;
  int32_t ti;
  std::memcpy(&ti, &t, 4);
  const int32_t ni = ti - 0x4B400000;  // integer value of n
  const float r = (xc - n * kLn2Hi) - n * kLn2Lo;
  const float r2 = r * r;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r2 + r + 1.f;
  // 2^n split in two factors so n = 128 (x near kMax) does not overflow the exponent field.
  const int32_t half = ni >> 1;
  const int32_t b1 = (half + 127) << 23, b2 = (ni - half + 127) << 23;
  float s1, s2;
  std::memcpy(&s1, &b1, 4);
  std::memcpy(&s2, &b2, 4);
  const float y = p * s1 * s2;
  return x < kMin ? 0.f : (x > kMax ? __builtin_inff() : y);
}

}  // namespace datamux::detail
