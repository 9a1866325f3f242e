// datamux/core/matmul_kernel.hpp - the oneDNN matmul behind ops::matmul, ops::linear and attention,
// without autograd, plus the global matmul precision switch.
//
// Operands are handed to oneDNN as strided memory descriptors, so transposed, permuted and sliced views
// (any view whose matrix part has a unit stride) are multiplied in place, without copies. A batch that
// only the left operand has is folded into its rows, so [B, M, K] x [K, N] is one [B*M, K] x [K, N] GEMM.
#pragma once

#include <datamux/tensor.hpp>

namespace datamux {

/// Input precision of matmul and linear. bf16 rounds both inputs to bfloat16 and accumulates in f32
/// (outputs and gradients stay f32); it is used only where cpu_features says bf16 matmul is fast, and
/// f32 otherwise. Default f32.
enum class MatmulPrecision : uint8_t { f32 = 0, bf16 = 1 };
void set_matmul_precision(MatmulPrecision p);
MatmulPrecision matmul_precision();
/// The precision matmuls actually run in: bf16 only if requested and fast on this CPU.
MatmulPrecision effective_matmul_precision();

}  // namespace datamux

namespace datamux::detail {

/// dst = scale * op(a) op(b) (+ bias), op(t) = t or t^T over the last two dims; leading dims broadcast.
/// a, b: f32 (or bf16), rank >= 2; bias: null or N contiguous floats. Returns a new contiguous f32
/// tensor of shape broadcast(batch) + [M, N]. Records no graph.
Tensor matmul_nograd(const Tensor& a, const Tensor& b, bool trans_a, bool trans_b, const float* bias = nullptr,
                     float scale = 1.f);

/// A contiguous bf16 copy of f32 `t` (any strides), rounded to nearest even by a cached oneDNN reorder.
/// bf16 input is returned as is.
Tensor to_bf16(const Tensor& t);

}  // namespace datamux::detail
