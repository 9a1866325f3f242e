// instance_linear.hpp - shared pieces of the built-in demultiplexers: the input check and
// N per-instance linear maps computed as one GEMM.
//
// A per-instance map y_i = W_i h + b_i for all i at once is one linear layer with the N weights
// stacked: weight [N, out, in] viewed as [N*out, in], so the backbone state is read once and oneDNN
// runs a single large matmul instead of N small ones. Header-only: each plugin compiles its own copy.
#pragma once

#include <cmath>
#include <datamux/context.hpp>
#include <datamux/ops.hpp>
#include <datamux/tensor.hpp>
#include <stdexcept>
#include <string>

namespace datamux::plugin_util {

/// Throws InputError unless the context gives N >= 1 and a positive hidden size.
inline void check_demux_context(const std::string& what, const BuildContext& ctx) {
  if (ctx.instances < 1)
    throw InputError(what + ": [model] instances must be >= 1, got " + std::to_string(ctx.instances));
  if (ctx.hidden <= 0) throw InputError(what + ": [model] hidden must be positive, got " + std::to_string(ctx.hidden));
}

/// Throws std::invalid_argument unless h is f32 [B, ..., hidden].
inline void check_states(const std::string& what, const Tensor& h, int64_t hidden) {
  if (h.defined() && h.dtype() == DType::f32 && h.dim() >= 2 && h.size(-1) == hidden) return;
  throw std::invalid_argument(what + ": expected backbone states [B, ..., hidden=" + std::to_string(hidden) +
                              "], got " + (h.defined() ? shape_str(h.shape()) : std::string("an undefined tensor")));
}

/// [N, out, in] weights initialised as N torch.nn.Linear(in, out) layers (Kaiming uniform).
inline Tensor instance_linear_weight(int64_t n, int64_t out, int64_t in, Rng& rng) {
  return Tensor::kaiming_uniform({n * out, in}, rng).reshape({n, out, in});
}

/// [N, out] biases initialised as torch.nn.Linear(in, out) does: U(-1/sqrt(in), 1/sqrt(in)).
inline Tensor instance_linear_bias(int64_t n, int64_t out, int64_t in, Rng& rng) {
  const float bound = 1.f / std::sqrt(static_cast<float>(in));
  return Tensor::uniform({n, out}, rng, -bound, bound);
}

/// h: [M, in], weight: [N, out, in], bias: [N, out] or undefined -> [M, N, out] with
/// y[m, i] = W_i h[m] + b_i.
inline Tensor instance_linear(const Tensor& h, const Tensor& weight, const Tensor& bias) {
  const int64_t n = weight.size(0), out = weight.size(1), in = weight.size(2);
  const Tensor y = ops::linear(h, weight.reshape({n * out, in}), bias.defined() ? bias.reshape({n * out}) : Tensor());
  return y.reshape({h.size(0), n, out});
}

/// [N] followed by h's shape: the demux output shape for states h.
inline Shape with_instance_axis(int64_t n, const Tensor& h) {
  Shape s{n};
  s.insert(s.end(), h.shape().begin(), h.shape().end());
  return s;
}

}  // namespace datamux::plugin_util
