// vec_math.hpp - row kernels for the softmax, cross-entropy and layer-norm loops, dispatched at run
// time to the widest vector ISA the CPU has (AVX-512F, AVX2, else the SSE2 baseline).
//
// Why: the library is built for baseline x86-64 (no -march=native, since hosts differ), and GCC does
// not vectorise a loop that calls expf or keeps a float max/sum reduction unless fast-math is on. So
// these kernels are written once with GCC vector extensions over a lane count W and compiled three
// times under target attributes (see vec_math.cpp); `vec::kernels()` picks one set at first use.
// exp is the Cephes expf polynomial (max error ~2 ulp on [-87.3, 88.7], 0 below, +inf above, NaN in
// NaN out). Reductions accumulate W lanes and add them in lane order: deterministic on a given CPU.
// Private to the op implementations.
#pragma once

#include <cstdint>

namespace datamux::detail::vec {

struct Kernels {
  /// max_i x[i]; -inf when n == 0.
  float (*max)(const float* x, int64_t n);
  /// sum_i x[i].
  float (*sum)(const float* x, int64_t n);
  /// sum_i a[i] * b[i].
  float (*dot)(const float* a, const float* b, int64_t n);
  /// y[i] = exp(x[i] - shift) (skipped when y is null); returns sum_i exp(x[i] - shift).
  float (*exp_sum)(const float* x, float shift, float* y, int64_t n);
  /// y[i] = exp(x[i]); y may equal x.
  void (*exp)(const float* x, float* y, int64_t n);
  /// s = sum_i (x[i] - shift), ss = sum_i (x[i] - shift)^2.
  void (*moments)(const float* x, float shift, int64_t n, float* s, float* ss);
  const char* isa;  // "avx512", "avx2" or "sse2"
};

/// The kernel set for this CPU (selected once, thread-safe).
const Kernels& kernels();
/// The kernel set for `isa` ("avx512", "avx2", "sse2"), or null when this CPU cannot run it or the
/// name is unknown. For tests that compare every ISA path with a reference.
const Kernels* kernels_for(const char* isa);

}  // namespace datamux::detail::vec
