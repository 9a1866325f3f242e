// Sum and mean over any set of dims. oneDNN 2.6's reduction is a reference kernel, so these are
// OpenMP loops with two fast layouts: reduced dims at the end (row sums) or at the front (column sums,
// e.g. a bias gradient or the mux's mean over the instance axis).
#include <datamux/core/tensor_util.hpp>
#include <datamux/ops.hpp>

#include <algorithm>
#include <numeric>

namespace datamux::ops {
namespace {

// x viewed as [outer, red, inner] with red the reduced block: out[o, i] = sum_r x[o, r, i].
void reduce_block(const float* x, float* out, int64_t outer, int64_t red, int64_t inner) {
  if (inner == 1) {
#pragma omp parallel for if (outer * red > (1 << 15))
    for (int64_t o = 0; o < outer; ++o) {
      const float* row = x + o * red;
      float acc = 0.f;
#pragma omp simd reduction(+ : acc)
      for (int64_t r = 0; r < red; ++r) acc += row[r];
      out[o] = acc;
    }
    return;
  }
  // Column sums: parallel over chunks of the inner axis so each thread streams rows.
  const int64_t chunk = 256;
  const int64_t nchunks = (inner + chunk - 1) / chunk;
#pragma omp parallel for collapse(2) if (outer * red * inner > (1 << 15))
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t c = 0; c < nchunks; ++c) {
      const int64_t i0 = c * chunk, i1 = std::min(inner, i0 + chunk);
      float* dst = out + o * inner;
      for (int64_t i = i0; i < i1; ++i) dst[i] = 0.f;
      for (int64_t r = 0; r < red; ++r) {
        const float* src = x + (o * red + r) * inner;
#pragma omp simd
        for (int64_t i = i0; i < i1; ++i) dst[i] += src[i];
      }
    }
  }
}

}  // namespace

Tensor sum(const Tensor& x, const std::vector<int64_t>& dims_in, bool keepdim) {
  detail::check_f32(x, "sum", "x");
  const int64_t r = x.dim();
  std::vector<bool> reduce(r, dims_in.empty());
  for (int64_t d : dims_in) {
    const int64_t w = detail::wrap_dim(d, r, "sum");  // a 0-dim tensor accepts dim 0 / -1 and has nothing to reduce
    if (r > 0) reduce[w] = true;
  }

  Shape kept_shape;  // keepdim shape
  for (int64_t i = 0; i < r; ++i) kept_shape.push_back(reduce[i] ? 1 : x.shape()[i]);
  Shape out_shape;
  for (int64_t i = 0; i < r; ++i)
    if (!reduce[i] || keepdim) out_shape.push_back(kept_shape[i]);

  // Bring the reduced dims into one contiguous block: order = kept-before, reduced, kept-after when the
  // reduced dims are already adjacent; otherwise permute them to the end.
  int64_t first = -1, last = -1;
  for (int64_t i = 0; i < r; ++i)
    if (reduce[i]) {
      if (first < 0) first = i;
      last = i;
    }
  Tensor out = Tensor::empty(out_shape);
  if (first < 0) {
    out = x.detach().contiguous().clone().reshape(out_shape);
  } else {
    bool adjacent = true;
    for (int64_t i = first; i <= last; ++i) adjacent = adjacent && reduce[i];
    Tensor src = x.detach();
    int64_t outer = 1, red = 1, inner = 1;
    if (adjacent) {
      for (int64_t i = 0; i < first; ++i) outer *= x.shape()[i];
      for (int64_t i = first; i <= last; ++i) red *= x.shape()[i];
      for (int64_t i = last + 1; i < r; ++i) inner *= x.shape()[i];
    } else {
      std::vector<int64_t> order;
      for (int64_t i = 0; i < r; ++i)
        if (!reduce[i]) order.push_back(i), outer *= x.shape()[i];
      for (int64_t i = 0; i < r; ++i)
        if (reduce[i]) order.push_back(i), red *= x.shape()[i];
      src = src.permute(order);
    }
    Tensor scratch;
    const float* px = detail::contiguous_data(src, scratch);
    reduce_block(px, out.data<float>(), outer, red, inner);
  }
  Shape in_shape = x.shape();
  record(out, {x},
         [x, kept_shape, in_shape](const Tensor& g) { accumulate_grad(x, g.reshape(kept_shape).expand(in_shape).contiguous()); },
         "sum");
  return out;
}

Tensor mean(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  int64_t count = 1;
  if (dims.empty() || x.dim() == 0) {
    count = x.numel();
  } else {
    std::vector<bool> seen(x.dim(), false);
    for (int64_t d : dims) {
      int64_t w = detail::wrap_dim(d, x.dim(), "mean");
      if (!seen[w]) count *= x.shape()[w];
      seen[w] = true;
    }
  }
  return mul(sum(x, dims, keepdim), 1.f / static_cast<float>(std::max<int64_t>(count, 1)));
}

}  // namespace datamux::ops
