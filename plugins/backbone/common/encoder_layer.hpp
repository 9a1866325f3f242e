// encoder_layer.hpp - one Transformer encoder layer built from SDK ops, shared by the `transformer`
// backbone (a stack of them) and the `contextual` mux (two of them, MUX-PLMs' TL1 and TL2).
//
// Multi-head self-attention then a position-wise feed-forward network (fc1 -> activation -> fc2), each
// wrapped in a residual connection with layer norm: after the residual (post-LN, as BERT/ELECTRA's
// `BertLayer`/`ElectraLayer`; the default) or before the sub-layer (pre-LN, `norm_first`). Padding keys
// are masked out of the attention (mask f32 [B, T], 1 = token, 0 = pad; undefined = no mask).
// Parameter names follow PyTorch: attn.q_proj.weight, attn.out_proj.bias, ffn.fc1.weight, norm1.weight.
// Header-only: each plugin library compiles its own copy.
#pragma once

#include <cstdint>
#include <datamux/module.hpp>
#include <datamux/nn.hpp>
#include <memory>

namespace datamux::plugin_util {

/// Independent dropout streams per layer, derived from the component seed (splitmix64).
inline uint64_t derive_seed(uint64_t seed, uint64_t k) {
  uint64_t z = seed + 0x9E3779B97F4A7C15ull * (k + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

class SelfAttention : public Module {
 public:
  SelfAttention(int64_t hidden, int64_t heads, Rng& rng) : heads_(heads), head_dim_(hidden / heads) {
    q_proj_ = register_module("q_proj", std::make_shared<nn::Linear>(hidden, hidden, rng));
    k_proj_ = register_module("k_proj", std::make_shared<nn::Linear>(hidden, hidden, rng));
    v_proj_ = register_module("v_proj", std::make_shared<nn::Linear>(hidden, hidden, rng));
    out_proj_ = register_module("out_proj", std::make_shared<nn::Linear>(hidden, hidden, rng));
  }

  /// x: [B, T, hidden]; mask: f32 [B, T] or undefined; residual: added to the output in the output
  /// projection's pass (undefined: none).
  Tensor forward(const Tensor& x, const Tensor& mask, const Tensor& residual = Tensor()) const {
    const int64_t b = x.size(0), t = x.size(1), hidden = x.size(2);
    // Q, K and V from one GEMM over the stacked weights ([3*hidden, hidden]: one pass over x, one
    // larger matmul instead of three); each is a strided view of it that the attention matmuls read
    // in place. Stacking costs a copy of the weights, small next to the GEMM, and keeps the three
    // checkpoint tensors (and their gradients, through concat) as they were.
    const Tensor w = ops::concat({q_proj_->weight, k_proj_->weight, v_proj_->weight}, 0);
    const Tensor bias = ops::concat({q_proj_->bias, k_proj_->bias, v_proj_->bias}, 0);
    const Tensor qkv = ops::linear(x, w, bias).reshape({b, t, 3, heads_, head_dim_});
    auto head_view = [&](int64_t i) { return qkv.select(2, i).permute({0, 2, 1, 3}); };  // [B, H, T, D]
    Tensor a = ops::scaled_dot_product_attention(head_view(0), head_view(1), head_view(2), mask);  // [B, H, T, D]
    return out_proj_->forward(a.permute({0, 2, 1, 3}).reshape({b, t, hidden}), ops::Activation::none, residual);
  }

 private:
  int64_t heads_, head_dim_;
  std::shared_ptr<nn::Linear> q_proj_, k_proj_, v_proj_, out_proj_;
};

class FeedForward : public Module {
 public:
  FeedForward(int64_t hidden, int64_t ffn, bool gelu, float dropout, uint64_t seed, Rng& rng) : gelu_(gelu) {
    fc1_ = register_module("fc1", std::make_shared<nn::Linear>(hidden, ffn, rng));
    fc2_ = register_module("fc2", std::make_shared<nn::Linear>(ffn, hidden, rng));
    dropout_ = register_module("dropout", std::make_shared<nn::Dropout>(dropout, seed));
  }

  /// fc2(dropout(act(fc1(x)))) + residual; the activation and the residual add run inside the matmuls'
  /// passes (see ops::linear).
  Tensor forward(const Tensor& x, const Tensor& residual = Tensor()) const {
    const Tensor h = fc1_->forward(x, gelu_ ? ops::Activation::gelu : ops::Activation::relu);
    return fc2_->forward(dropout_->forward(h), ops::Activation::none, residual);
  }

 private:
  bool gelu_;
  std::shared_ptr<nn::Linear> fc1_, fc2_;
  std::shared_ptr<nn::Dropout> dropout_;
};

struct EncoderLayerConfig {
  int64_t hidden = 0, heads = 1, ffn = 0;
  bool gelu = true;
  float dropout = 0.f;
  bool norm_first = false;
  float eps = 1e-5f;  // layer-norm epsilon (torch default; BERT/ELECTRA configs use 1e-12)
};

class EncoderLayer : public Module {
 public:
  EncoderLayer(const EncoderLayerConfig& c, uint64_t seed, Rng& rng) : norm_first_(c.norm_first) {
    attn_ = register_module("attn", std::make_shared<SelfAttention>(c.hidden, c.heads, rng));
    ffn_ = register_module("ffn",
                           std::make_shared<FeedForward>(c.hidden, c.ffn, c.gelu, c.dropout, derive_seed(seed, 0), rng));
    norm1_ = register_module("norm1", std::make_shared<nn::LayerNorm>(c.hidden, c.eps));
    norm2_ = register_module("norm2", std::make_shared<nn::LayerNorm>(c.hidden, c.eps));
    dropout1_ = register_module("dropout1", std::make_shared<nn::Dropout>(c.dropout, derive_seed(seed, 1)));
    dropout2_ = register_module("dropout2", std::make_shared<nn::Dropout>(c.dropout, derive_seed(seed, 2)));
  }

  Tensor forward(const Tensor& x, const Tensor& mask) const {
    // Without active dropout (inference, or dropout = 0) the residual adds are fused into the output
    // projections; with it, dropout must act on the sub-layer output before the add.
    const bool drop = is_training() && dropout1_->p > 0.f;
    if (norm_first_) {
      const Tensor a_in = norm1_->forward(x);
      const Tensor h = drop ? x + dropout1_->forward(attn_->forward(a_in, mask)) : attn_->forward(a_in, mask, x);
      const Tensor f_in = norm2_->forward(h);
      return drop ? h + dropout2_->forward(ffn_->forward(f_in)) : ffn_->forward(f_in, h);
    }
    const Tensor h = norm1_->forward(drop ? x + dropout1_->forward(attn_->forward(x, mask)) : attn_->forward(x, mask, x));
    return norm2_->forward(drop ? h + dropout2_->forward(ffn_->forward(h)) : ffn_->forward(h, h));
  }

 private:
  bool norm_first_;
  std::shared_ptr<SelfAttention> attn_;
  std::shared_ptr<FeedForward> ffn_;
  std::shared_ptr<nn::LayerNorm> norm1_, norm2_;
  std::shared_ptr<nn::Dropout> dropout1_, dropout2_;
};

}  // namespace datamux::plugin_util
