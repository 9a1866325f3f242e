// concat, stack and split along any dim, for every dtype (i32 ids are concatenated too, e.g. prefix
// tokens before a sequence).
//
// concat and stack share one copy: the output is viewed as [outer, row] where outer is the product of
// the dims before `dim`, and input k fills a fixed column range of every row. Backward hands each
// input its slice (concat) or selection (stack) of the gradient. split returns slice views, as
// torch.split does, and differentiates through them.
#include <datamux/core/tensor_util.hpp>
#include <datamux/ops.hpp>

#include <fmt/format.h>

#include <cstring>
#include <stdexcept>

namespace datamux::ops {
namespace {

constexpr int64_t kParallelMin = 1 << 16;  // bytes

// dst row r = [src_0 row r | src_1 row r | ...]; widths in bytes.
void join_rows(const std::vector<const char*>& srcs, const std::vector<int64_t>& widths, char* dst, int64_t outer,
               int64_t row) {
  const int64_t k = static_cast<int64_t>(srcs.size());
  std::vector<int64_t> col(k, 0);
  for (int64_t i = 1; i < k; ++i) col[i] = col[i - 1] + widths[i - 1];
#pragma omp parallel for collapse(2) if (outer * row > kParallelMin)
  for (int64_t r = 0; r < outer; ++r)
    for (int64_t i = 0; i < k; ++i)
      std::memcpy(dst + r * row + col[i], srcs[i] + r * widths[i], static_cast<std::size_t>(widths[i]));
}

void check_inputs(const std::vector<Tensor>& xs, const char* op) {
  if (xs.empty()) throw std::invalid_argument(fmt::format("{}: needs at least one tensor", op));
  for (std::size_t i = 0; i < xs.size(); ++i) {
    if (!xs[i].defined()) throw std::invalid_argument(fmt::format("{}: tensor {} is undefined", op, i));
    if (xs[i].dtype() != xs[0].dtype())
      throw std::invalid_argument(fmt::format("{}: tensor {} is {} but tensor 0 is {}", op, i,
                                              dtype_name(xs[i].dtype()), dtype_name(xs[0].dtype())));
  }
}

// Joins contiguous copies of xs; piece i contributes `widths[i]` elements per outer row.
Tensor join(const std::vector<Tensor>& xs, const Shape& out_shape, int64_t outer, const std::vector<int64_t>& widths) {
  const DType dt = xs[0].dtype();
  const int64_t es = static_cast<int64_t>(dtype_size(dt));
  Tensor out = Tensor::empty(out_shape, dt);
  if (out.numel() == 0) return out;
  std::vector<Tensor> keep(xs.size());
  std::vector<const char*> srcs(xs.size());
  std::vector<int64_t> bytes(xs.size());
  int64_t row = 0;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    keep[i] = xs[i].detach().contiguous();
    srcs[i] = static_cast<const char*>(keep[i].impl()->storage->data) + keep[i].offset() * es;
    bytes[i] = widths[i] * es;
    row += bytes[i];
  }
  join_rows(srcs, bytes, static_cast<char*>(out.impl()->storage->data), outer, row);
  return out;
}

}  // namespace

Tensor concat(const std::vector<Tensor>& xs, int64_t dim_in) {
  check_inputs(xs, "concat");
  const Shape& first = xs[0].shape();
  if (first.empty()) throw std::invalid_argument("concat: cannot concatenate scalars (use stack)");
  const int64_t r = static_cast<int64_t>(first.size());
  const int64_t dim = datamux::detail::wrap_dim(dim_in, r, "concat");
  Shape out_shape = first;
  out_shape[dim] = 0;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    const Shape& s = xs[i].shape();
    bool ok = static_cast<int64_t>(s.size()) == r;
    for (int64_t k = 0; ok && k < r; ++k) ok = k == dim || s[k] == first[k];
    if (!ok)
      throw std::invalid_argument(fmt::format("concat: tensor {} has shape {}, tensor 0 has {}; all dims but {} must match",
                                              i, shape_str(s), shape_str(first), dim));
    out_shape[dim] += s[dim];
  }
  int64_t outer = 1, inner = 1;
  for (int64_t k = 0; k < dim; ++k) outer *= first[k];
  for (int64_t k = dim + 1; k < r; ++k) inner *= first[k];
  std::vector<int64_t> widths(xs.size());
  for (std::size_t i = 0; i < xs.size(); ++i) widths[i] = xs[i].size(dim) * inner;
  Tensor out = join(xs, out_shape, outer, widths);

  record(out, xs,
         [xs, dim](const Tensor& g) {
           int64_t off = 0;
           for (const Tensor& x : xs) {
             const int64_t n = x.size(dim);
             if (x.requires_grad()) accumulate_grad(x, g.slice(dim, off, off + n));
             off += n;
           }
         },
         "concat");
  return out;
}

Tensor stack(const std::vector<Tensor>& xs, int64_t dim_in) {
  check_inputs(xs, "stack");
  const Shape& first = xs[0].shape();
  const int64_t r = static_cast<int64_t>(first.size());
  const int64_t dim = datamux::detail::wrap_dim(dim_in, r + 1, "stack");
  for (std::size_t i = 0; i < xs.size(); ++i)
    if (xs[i].shape() != first)
      throw std::invalid_argument(fmt::format("stack: tensor {} has shape {}, tensor 0 has {}; all must match", i,
                                              shape_str(xs[i].shape()), shape_str(first)));
  Shape out_shape = first;
  out_shape.insert(out_shape.begin() + dim, static_cast<int64_t>(xs.size()));
  int64_t outer = 1, inner = 1;
  for (int64_t k = 0; k < dim; ++k) outer *= first[k];
  for (int64_t k = dim; k < r; ++k) inner *= first[k];
  Tensor out = join(xs, out_shape, outer, std::vector<int64_t>(xs.size(), inner));

  record(out, xs,
         [xs, dim](const Tensor& g) {
           for (std::size_t i = 0; i < xs.size(); ++i)
             if (xs[i].requires_grad()) accumulate_grad(xs[i], g.select(dim, static_cast<int64_t>(i)));
         },
         "stack");
  return out;
}

std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t dim_in) {
  if (!x.defined()) throw std::invalid_argument("split: tensor is undefined");
  if (x.dim() == 0) throw std::invalid_argument("split: cannot split a scalar");
  const int64_t dim = datamux::detail::wrap_dim(dim_in, x.dim(), "split");
  int64_t total = 0;
  for (int64_t s : sizes) {
    if (s < 0) throw std::invalid_argument(fmt::format("split: negative size {} in [{}]", s, fmt::join(sizes, ", ")));
    total += s;
  }
  if (total != x.size(dim))
    throw std::invalid_argument(fmt::format("split: sizes [{}] sum to {} but dim {} of {} has {}", fmt::join(sizes, ", "),
                                            total, dim, shape_str(x.shape()), x.size(dim)));
  std::vector<Tensor> out;
  out.reserve(sizes.size());
  int64_t off = 0;
  for (int64_t s : sizes) {
    out.push_back(x.slice(dim, off, off + s));
    off += s;
  }
  return out;
}

}  // namespace datamux::ops
