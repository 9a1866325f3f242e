// embedding_layer_norm: LN(table[ids] + positions) in one pass over the rows. The task embedding of
// every instance is the largest per-instance cost of a multiplexed inference pass (docs/performance.md,
// "Where the multiplier goes"): the three ops it replaces each wrote the whole [N, B, L, d] tensor.
// Training (any input needing a gradient) takes the composed ops, whose backward passes exist; the
// fused loop gives the same floats to the bit (the same add, then the same row kernel).
#include <datamux/core/tensor_util.hpp>
#include <datamux/ops.hpp>

#include "embedding_ids.hpp"

#include <fmt/format.h>

#include <stdexcept>
#include <vector>

#include "layer_norm_row.hpp"

namespace datamux::ops {
namespace {

constexpr int64_t kParallelMin = 1 << 14;

void check_args(const Tensor& ids, const Tensor& table, const Tensor& positions) {
  if (!ids.defined() || ids.dtype() != DType::i32)
    throw std::invalid_argument("embedding_layer_norm: ids must be i32 token ids");
  datamux::detail::check_f32(table, "embedding_layer_norm", "table");
  datamux::detail::check_f32(positions, "embedding_layer_norm", "positions");
  if (table.dim() != 2 || positions.dim() != 2 || positions.size(1) != table.size(1))
    throw std::invalid_argument(fmt::format("embedding_layer_norm: table {} and positions {} must be [V, D] and [L, D]",
                                            shape_str(table.shape()), shape_str(positions.shape())));
  if (ids.dim() == 0 || ids.size(-1) != positions.size(0))
    throw std::invalid_argument(fmt::format("embedding_layer_norm: ids {} must end in L = {} positions",
                                            shape_str(ids.shape()), positions.size(0)));
}

}  // namespace

Tensor embedding_layer_norm(const Tensor& ids, const Tensor& table, const Tensor& positions, const Tensor& weight,
                            const Tensor& bias, float eps) {
  if (grad_enabled() && any_requires_grad({table, positions, weight, bias}))
    return layer_norm(add(embedding(ids, table), positions), weight, bias, eps);
  check_args(ids, table, positions);
  const int64_t vocab = table.size(0), d = table.size(1), len = positions.size(0);
  Tensor ids_c = ids.detach().contiguous();
  const int32_t* pid = ids_c.data<int32_t>();
  const int64_t rows = ids_c.numel();
  detail::check_ids_in_range(pid, rows, vocab);
  Tensor ts, ps, ws, bs;
  const float* pt = datamux::detail::contiguous_data(table, ts);
  const float* pp = datamux::detail::contiguous_data(positions, ps);
  const float* pw = weight.defined() ? datamux::detail::contiguous_data(weight, ws) : nullptr;
  const float* pb = bias.defined() ? datamux::detail::contiguous_data(bias, bs) : nullptr;
  Shape out_shape = ids_c.shape();
  out_shape.push_back(d);
  Tensor out = Tensor::empty(out_shape);
  float* po = out.data<float>();
#pragma omp parallel if (rows * d > kParallelMin)
  {
    std::vector<float> row(static_cast<std::size_t>(d));
#pragma omp for
    for (int64_t r = 0; r < rows; ++r) {
      const float* tok = pt + static_cast<int64_t>(pid[r]) * d;
      const float* pos = pp + (r % len) * d;
      for (int64_t i = 0; i < d; ++i) row[static_cast<std::size_t>(i)] = tok[i] + pos[i];
      float mean, rstd;
      layer_norm_row(row.data(), pw, pb, po + r * d, d, eps, &mean, &rstd);
    }
  }
  return out;
}

}  // namespace datamux::ops
