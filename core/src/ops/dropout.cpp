// Inverted dropout: each element is kept with probability 1 - p and scaled by 1 / (1 - p).
//
// One 64-bit seed is drawn from the caller's Rng per call; element i's keep/drop decision is a hash
// of (seed, i) (SplitMix64 finaliser), so the mask is a function of the Rng state alone and the loop
// runs in parallel with the same result for any thread count. The mask is kept as one byte per
// element (in a Storage from the caching allocator) for backward.
#include <datamux/core/tensor_util.hpp>
#include <datamux/ops.hpp>

#include <fmt/format.h>

#include <cmath>
#include <memory>
#include <stdexcept>

namespace datamux::ops {
namespace {

constexpr int64_t kParallelMin = 1 << 15;

inline uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

}  // namespace

Tensor dropout(const Tensor& x, float p, bool training, Rng& rng) {
  datamux::detail::check_f32(x, "dropout", "x");
  if (!(p >= 0.f && p <= 1.f))
    throw std::invalid_argument(fmt::format("dropout: probability p must be in [0, 1], got {}", p));
  if (!training || p == 0.f) return x;
  const int64_t n = x.numel();
  if (p == 1.f) {
    Tensor out = Tensor::zeros(x.shape());
    record(out, {x}, [x](const Tensor& g) { accumulate_grad(x, Tensor::zeros(x.shape())); }, "dropout");
    return out;
  }
  // Keep when the top 32 bits of the hash are >= p * 2^32.
  const uint64_t threshold = static_cast<uint64_t>(std::ldexp(static_cast<double>(p), 32));
  const uint64_t seed = rng.next();
  const float scale = 1.f / (1.f - p);
  auto mask = std::make_shared<Storage>(static_cast<std::size_t>(n));
  uint8_t* keep = static_cast<uint8_t*>(mask->data);
  Tensor xs;
  const float* px = datamux::detail::contiguous_data(x, xs);
  Tensor out = Tensor::empty(x.shape());
  float* po = out.data<float>();
#pragma omp parallel for simd if (n > kParallelMin)
  for (int64_t i = 0; i < n; ++i) {
    const uint8_t k = (mix64(seed + static_cast<uint64_t>(i) * 0x9E3779B97F4A7C15ULL) >> 32) >= threshold;
    keep[i] = k;
    po[i] = k ? px[i] * scale : 0.f;
  }
  if (grad_enabled() && x.requires_grad()) {
    record(out, {x},
           [x, mask, scale, n](const Tensor& g) {
             Tensor gs;
             const float* pg = datamux::detail::contiguous_data(g, gs);
             const uint8_t* k = static_cast<const uint8_t*>(mask->data);
             Tensor dx = Tensor::empty(g.shape());
             float* d = dx.data<float>();
#pragma omp parallel for simd if (n > kParallelMin)
             for (int64_t i = 0; i < n; ++i) d[i] = k[i] ? pg[i] * scale : 0.f;
             accumulate_grad(x, dx);
           },
           "dropout");
  }
  return out;
}

}  // namespace datamux::ops
