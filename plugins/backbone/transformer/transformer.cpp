// backbone "transformer": a Transformer encoder, [B, T, hidden] -> [B, T, hidden].
//
// Each layer is multi-head self-attention then a position-wise feed-forward network (fc1 -> activation
// -> fc2), each wrapped in a residual connection with layer norm: after the residual (post-LN, BERT and
// the DataMUX reference code; the default) or before the sub-layer (pre-LN, `norm_first`; a final layer
// norm "norm" then closes the stack). Padding keys are masked out of every attention (padding_mask f32
// [B, T], 1 = token, 0 = pad), so real positions never see padded ones. `positions` adds learned
// position embeddings over prefix_len + seq_len positions; off by default because the pipeline's task
// embedding already adds them. Parameter names follow PyTorch: layers.0.attn.q_proj.weight,
// layers.0.attn.out_proj.bias, layers.0.ffn.fc1.weight, layers.0.norm1.weight, position_embeddings.weight.
#include <datamux/backbone.hpp>
#include <datamux/nn.hpp>
#include <datamux/plugin.hpp>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using namespace datamux;

/// Independent dropout streams per layer, derived from the component seed (splitmix64).
uint64_t derive_seed(uint64_t seed, uint64_t k) {
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

class EncoderLayer : public Module {
 public:
  EncoderLayer(int64_t hidden, int64_t heads, int64_t ffn, bool gelu, float dropout, bool norm_first, uint64_t seed,
               Rng& rng)
      : norm_first_(norm_first) {
    attn_ = register_module("attn", std::make_shared<SelfAttention>(hidden, heads, rng));
    ffn_ = register_module("ffn", std::make_shared<FeedForward>(hidden, ffn, gelu, dropout, derive_seed(seed, 0), rng));
    norm1_ = register_module("norm1", std::make_shared<nn::LayerNorm>(hidden));
    norm2_ = register_module("norm2", std::make_shared<nn::LayerNorm>(hidden));
    dropout1_ = register_module("dropout1", std::make_shared<nn::Dropout>(dropout, derive_seed(seed, 1)));
    dropout2_ = register_module("dropout2", std::make_shared<nn::Dropout>(dropout, derive_seed(seed, 2)));
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

class Transformer : public Backbone {
 public:
  Transformer(const Options& o, const BuildContext& ctx) : hidden_(ctx.hidden) {
    if (ctx.input != InputKind::Sequence)
      throw InputError(std::string("backbone 'transformer' takes sequence inputs [B, T, dim], but the task feeds ") +
                       input_kind_name(ctx.input) + " inputs; use 'mlp' or 'cnn'");
    if (ctx.hidden <= 0) throw InputError("backbone 'transformer': [model] hidden must be positive");
    if (ctx.dim != ctx.hidden)
      throw InputError("backbone 'transformer': its input size (dim " + std::to_string(ctx.dim) +
                       ") must equal [model] hidden (" + std::to_string(ctx.hidden) +
                       ") because of the residual connections; set the embedding size to the hidden size");
    const int64_t heads = o.get_int("heads");
    if (ctx.hidden % heads != 0)
      throw InputError("backbone 'transformer': heads = " + std::to_string(heads) + " does not divide hidden = " +
                       std::to_string(ctx.hidden) + "; pick a divisor of the hidden size");
    const int64_t ffn = o.get_int("ffn") > 0 ? o.get_int("ffn") : 4 * ctx.hidden;
    const bool gelu = o.get_string("activation") == "gelu";
    const float dropout = static_cast<float>(o.get_float("dropout"));
    const bool norm_first = o.get_bool("norm_first");
    if (o.get_bool("positions")) {
      max_positions_ = ctx.prefix_len + ctx.seq_len;
      if (max_positions_ <= 0)
        throw InputError(
            "backbone 'transformer': positions = true needs a known sequence length (seq_len + prefix_len > 0)");
      positions_ = register_module("position_embeddings",
                                   std::make_shared<nn::Embedding>(max_positions_, ctx.hidden, *ctx.rng, 0.02f));
    }
    const int64_t layers = o.get_int("layers");
    for (int64_t k = 0; k < layers; ++k)
      layers_.push_back(
          register_module("layers." + std::to_string(k),
                          std::make_shared<EncoderLayer>(ctx.hidden, heads, ffn, gelu, dropout, norm_first,
                                                         derive_seed(ctx.seed, static_cast<uint64_t>(k)), *ctx.rng)));
    if (norm_first) final_norm_ = register_module("norm", std::make_shared<nn::LayerNorm>(ctx.hidden));
  }

  Tensor forward(const Tensor& x, const Tensor& padding_mask) override {
    if (x.dim() != 3 || x.size(2) != hidden_)
      throw std::invalid_argument("backbone 'transformer': expected input [B, T, " + std::to_string(hidden_) +
                                  "], got " + shape_str(x.shape()));
    if (padding_mask.defined() && (padding_mask.dim() != 2 || padding_mask.size(0) != x.size(0) ||
                                   padding_mask.size(1) != x.size(1) || padding_mask.dtype() != DType::f32))
      throw std::invalid_argument(
          "backbone 'transformer': padding_mask must be f32 [B, T] = " + shape_str({x.size(0), x.size(1)}) +
          " (1 = token, 0 = padding), got " + dtype_name(padding_mask.dtype()) + " " + shape_str(padding_mask.shape()));
    Tensor h = x;
    if (positions_) {
      if (x.size(1) > max_positions_)
        throw std::invalid_argument("backbone 'transformer': sequence of " + std::to_string(x.size(1)) +
                                    " positions exceeds the " + std::to_string(max_positions_) +
                                    " learned position embeddings (prefix_len + seq_len)");
      h = h + positions_->weight.slice(0, 0, x.size(1));
    }
    for (const auto& layer : layers_) h = layer->forward(h, padding_mask);
    return final_norm_ ? final_norm_->forward(h) : h;
  }

 private:
  int64_t hidden_;
  int64_t max_positions_ = 0;
  std::shared_ptr<nn::Embedding> positions_;
  std::vector<std::shared_ptr<EncoderLayer>> layers_;
  std::shared_ptr<nn::LayerNorm> final_norm_;
};

}  // namespace

DATAMUX_PLUGIN(
    {.name = "transformer",
     .version = "1.0.0",
     .description = "Transformer encoder with padding-masked self-attention: [B, T, hidden] -> [B, T, hidden]",
     .options =
         {
             datamux::opt_int("layers", 4, "number of encoder layers", 1, 128),
             datamux::opt_int("heads", 4, "attention heads per layer (must divide the hidden size)", 1, 1024),
             datamux::opt_int("ffn", 0, "feed-forward inner size; 0 = 4 x hidden", 0, 1 << 20),
             datamux::opt_string("activation", "gelu", "feed-forward nonlinearity", {"gelu", "relu"}),
             datamux::opt_float("dropout", 0.1, "dropout on attention and feed-forward outputs (training only)", 0.0,
                                0.99),
             datamux::opt_bool("norm_first", false,
                               "pre-LN (layer norm before each sub-layer, plus a final norm); false = post-LN as BERT"),
             datamux::opt_bool("positions", false,
                               "add learned position embeddings over prefix_len + seq_len positions (the task "
                               "embedding already adds positions)"),
         },
     .create = datamux::factory<Transformer>})
