// Embedding lookup: out[..., :] = weight[ids[...], :], and its scatter-add backward.
//
// Backward builds a dense [V, D] gradient. Rather than atomics or per-thread [V, D] copies, the ids are
// bucketed by value with a counting sort (positions stay in ascending order inside a bucket), then
// each vocabulary row is summed by one thread in that fixed order: deterministic for any thread
// count, and every output row is written exactly once (untouched rows get zeros).
#include <datamux/core/tensor_util.hpp>
#include <datamux/ops.hpp>

#include "embedding_ids.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace datamux::ops {
namespace {

constexpr int64_t kParallelMin = 1 << 14;

// Counting sort of ids into CSR form: positions of id v are order[start[v] .. start[v + 1]).
void bucket_ids(const int32_t* ids, int64_t n, int64_t vocab, int64_t* start, int64_t* order) {
  std::fill_n(start, vocab + 1, 0);
  for (int64_t i = 0; i < n; ++i) ++start[ids[i] + 1];
  for (int64_t v = 0; v < vocab; ++v) start[v + 1] += start[v];
  // Fill with a moving cursor per bucket; start[v] is restored afterwards by shifting.
  for (int64_t i = 0; i < n; ++i) order[start[ids[i]]++] = i;
  for (int64_t v = vocab; v > 0; --v) start[v] = start[v - 1];
  start[0] = 0;
}

Tensor embedding_backward(const Tensor& g, const Tensor& ids, int64_t vocab, int64_t d) {
  const int64_t n = ids.numel();
  Tensor gs;
  const float* pg = datamux::detail::contiguous_data(g, gs);
  const int32_t* pid = ids.data<int32_t>();
  // Scratch for the buckets, from the caching allocator: [vocab + 1] starts and [n] positions.
  Storage index_mem(static_cast<std::size_t>(vocab + 1 + n) * sizeof(int64_t));
  int64_t* start = static_cast<int64_t*>(index_mem.data);
  int64_t* order = start + vocab + 1;
  bucket_ids(pid, n, vocab, start, order);
  Tensor dw = Tensor::empty({vocab, d});
  float* out = dw.data<float>();
#pragma omp parallel for schedule(dynamic, 64) if (vocab * d + n * d > kParallelMin)
  for (int64_t v = 0; v < vocab; ++v) {
    float* row = out + v * d;
    std::memset(row, 0, static_cast<std::size_t>(d) * sizeof(float));
    for (int64_t k = start[v]; k < start[v + 1]; ++k) {
      const float* src = pg + order[k] * d;
#pragma omp simd
      for (int64_t i = 0; i < d; ++i) row[i] += src[i];
    }
  }
  return dw;
}

}  // namespace

Tensor embedding(const Tensor& ids_in, const Tensor& weight) {
  if (!ids_in.defined()) throw std::invalid_argument("embedding: ids is undefined");
  if (ids_in.dtype() != DType::i32)
    throw std::invalid_argument(fmt::format("embedding: ids must be i32 token ids, got {}", dtype_name(ids_in.dtype())));
  datamux::detail::check_f32(weight, "embedding", "weight");
  if (weight.dim() != 2)
    throw std::invalid_argument("embedding: weight must be [vocab, dim], got " + shape_str(weight.shape()));
  const int64_t vocab = weight.size(0), d = weight.size(1);
  Tensor ids = ids_in.detach().contiguous();
  const int32_t* pid = ids.data<int32_t>();
  const int64_t n = ids.numel();
  detail::check_ids_in_range(pid, n, vocab);

  Tensor ws;
  const float* pw = datamux::detail::contiguous_data(weight, ws);
  Shape out_shape = ids.shape();
  out_shape.push_back(d);
  Tensor out = Tensor::empty(out_shape);
  float* po = out.data<float>();
#pragma omp parallel for if (n * d > kParallelMin)
  for (int64_t i = 0; i < n; ++i)
    std::memcpy(po + i * d, pw + static_cast<int64_t>(pid[i]) * d, static_cast<std::size_t>(d) * sizeof(float));

  record(out, {weight},
         [weight, ids, vocab, d](const Tensor& g) { accumulate_grad(weight, embedding_backward(g, ids, vocab, d)); },
         "embedding");
  return out;
}

}  // namespace datamux::ops
