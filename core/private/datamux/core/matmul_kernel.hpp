// datamux/core/matmul_kernel.hpp - the oneDNN matmul behind ops::matmul, ops::linear and attention,
// without autograd (the precision switch it follows is datamux/core/precision.hpp).
//
// Operands are handed to oneDNN as strided memory descriptors, so transposed, permuted and sliced views
// (any view whose matrix part has a unit stride) are multiplied in place, without copies. A batch that
// only the left operand has is folded into its rows, so [B, M, K] x [K, N] is one [B*M, K] x [K, N] GEMM.
#pragma once

#include <datamux/core/precision.hpp>
#include <datamux/tensor.hpp>

namespace datamux::detail {

/// What oneDNN applies to the GEMM result before it is stored (post-ops), so that no extra pass over
/// the output is needed: first the activation, then the residual add.
struct MatmulPostOps {
  enum class Act : uint8_t { none = 0, gelu = 1, relu = 2 } act = Act::none;
  const float* residual = nullptr;  // null, or a contiguous f32 array shaped like dst, added last
};

/// dst = act(scale * op(a) op(b) (+ bias)) (+ residual), op(t) = t or t^T over the last two dims;
/// leading dims broadcast. a, b: f32 (or bf16), rank >= 2; bias: null or N contiguous floats. Returns a
/// new contiguous f32 tensor of shape broadcast(batch) + [M, N]. Records no graph.
Tensor matmul_nograd(const Tensor& a, const Tensor& b, bool trans_a, bool trans_b, const float* bias = nullptr,
                     float scale = 1.f, const MatmulPostOps& post = {});

/// A contiguous bf16 copy of f32 `t` (any strides), rounded to nearest even by a cached oneDNN reorder.
/// bf16 input is returned as is.
Tensor to_bf16(const Tensor& t);

}  // namespace datamux::detail
