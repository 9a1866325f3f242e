// datamux/ops.hpp - differentiable operations on Tensor.
//
// Every op records its backward pass when an input requires grad (see tensor.hpp), so a plugin that
// composes these ops is trainable without writing a gradient. Heavy ops run on cached oneDNN
// primitives (matmul, linear, conv, pooling); the rest are OpenMP loops. Shapes follow PyTorch:
// `linear` weights are [out, in], images are NCHW, broadcasting aligns trailing dimensions.
#pragma once

#include <datamux/tensor.hpp>

#include <vector>

namespace datamux::ops {

// ---- linear algebra ----
/// Batched matrix product over the last two dims; leading dims broadcast. a: [..., M, K], b: [..., K, N].
/// trans_a / trans_b use a^T / b^T without copying.
Tensor matmul(const Tensor& a, const Tensor& b, bool trans_a = false, bool trans_b = false);
/// y = x W^T + b. x: [..., in], weight: [out, in], bias: [out] or undefined.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());

/// An activation `linear` can apply in the same pass as the matmul.
enum class Activation : uint8_t { none, gelu, relu };
/// y = act(x W^T + b) + residual, with the bias, the activation and the residual add applied while the
/// matmul stores its output (oneDNN post-ops): no extra passes over y, as in PyTorch's fused inference
/// path. residual: y's shape, or undefined. When a graph is recorded, an activation runs as its own op
/// after the matmul (its backward needs its input); the residual add stays fused. gelu is the exact
/// (erf) form, as ops::gelu.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias, Activation act,
              const Tensor& residual = Tensor());

// ---- elementwise with broadcasting ----
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor add(const Tensor& a, float s);
Tensor mul(const Tensor& a, float s);
Tensor neg(const Tensor& a);
Tensor square(const Tensor& a);
Tensor sqrt(const Tensor& a);
Tensor exp(const Tensor& a);
Tensor log(const Tensor& a);

// ---- activations ----
Tensor relu(const Tensor& x);
Tensor gelu(const Tensor& x);  // exact (erf) form, as torch.nn.GELU()
Tensor tanh(const Tensor& x);
Tensor sigmoid(const Tensor& x);

// ---- reductions ----
/// Sum over `dims` (negative counts from the end); all dims when empty.
Tensor sum(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
Tensor mean(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);

/// The code multiplexers' mix in one pass: out[m, k] = (1/N) sum_i x[i, m, k] * w[i, k].
/// x: [N, M, d], w: [N, d] -> [M, d]. Equal to mean(mul(x, w.unsqueeze(1)), {0}) without the [N, M, d]
/// product in memory.
Tensor instance_weighted_mean(const Tensor& x, const Tensor& w);

// ---- joining and splitting ----
Tensor concat(const std::vector<Tensor>& xs, int64_t dim);
Tensor stack(const std::vector<Tensor>& xs, int64_t dim);
std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t dim);

// ---- normalisation and probabilities ----
Tensor softmax(const Tensor& x, int64_t dim = -1);
Tensor log_softmax(const Tensor& x, int64_t dim = -1);
/// Layer norm over the last dim; weight and bias of shape [D] (either may be undefined).
Tensor layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, float eps = 1e-5f);

// ---- lookup and losses ----
/// ids: i32 of any shape, weight: [V, D] -> [..., D]. Ids out of [0, V) throw.
Tensor embedding(const Tensor& ids, const Tensor& weight);
/// layer_norm(embedding(ids, table) + positions, weight, bias, eps) for ids [..., L] and positions
/// [L, D], in one pass when no gradient is needed (inference; the same floats as the composed ops).
Tensor embedding_layer_norm(const Tensor& ids, const Tensor& table, const Tensor& positions, const Tensor& weight,
                            const Tensor& bias, float eps = 1e-5f);
/// Mean cross-entropy. logits: [M, C], targets: i32 [M]. Targets equal to ignore_index do not count
/// (the mean is over counted rows; 0 when none count).
Tensor cross_entropy(const Tensor& logits, const Tensor& targets, int32_t ignore_index = -100,
                     float label_smoothing = 0.f);
/// Inverted dropout: zeroes with probability p and scales survivors by 1/(1-p); identity if !training.
Tensor dropout(const Tensor& x, float p, bool training, Rng& rng);

// ---- vision ----
/// x: [B, C, H, W], weight: [O, C, kh, kw], bias: [O] or undefined.
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, int64_t stride = 1, int64_t padding = 0);
Tensor max_pool2d(const Tensor& x, int64_t kernel, int64_t stride = -1);  // stride -1 = kernel
Tensor avg_pool2d(const Tensor& x, int64_t kernel, int64_t stride = -1);

// ---- attention ----
/// softmax(q k^T / sqrt(D) + mask) v. q: [B, H, Lq, D], k and v: [B, H, Lk, D].
/// key_padding_mask: f32 [B, Lk] with 1 for real tokens and 0 for padding (undefined: no mask).
Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                    const Tensor& key_padding_mask = Tensor());

}  // namespace datamux::ops

namespace datamux {
inline Tensor operator+(const Tensor& a, const Tensor& b) { return ops::add(a, b); }
inline Tensor operator-(const Tensor& a, const Tensor& b) { return ops::sub(a, b); }
inline Tensor operator*(const Tensor& a, const Tensor& b) { return ops::mul(a, b); }
inline Tensor operator/(const Tensor& a, const Tensor& b) { return ops::div(a, b); }
inline Tensor operator+(const Tensor& a, float s) { return ops::add(a, s); }
inline Tensor operator-(const Tensor& a, float s) { return ops::add(a, -s); }
inline Tensor operator*(const Tensor& a, float s) { return ops::mul(a, s); }
inline Tensor operator*(float s, const Tensor& a) { return ops::mul(a, s); }
inline Tensor operator/(const Tensor& a, float s) { return ops::mul(a, 1.f / s); }
inline Tensor operator-(const Tensor& a) { return ops::neg(a); }
}  // namespace datamux
