// backbone "transformer": a Transformer encoder, [B, T, hidden] -> [B, T, hidden].
//
// Each layer (../common/encoder_layer.hpp) is multi-head self-attention then a position-wise
// feed-forward network (fc1 -> activation -> fc2), each wrapped in a residual connection with layer
// norm: after the residual (post-LN, BERT and the DataMUX reference code; the default) or before the sub-layer (pre-LN, `norm_first`; a final layer
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

#include "../common/encoder_layer.hpp"

namespace {

using namespace datamux;

using plugin_util::derive_seed;
using plugin_util::EncoderLayer;

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
      layers_.push_back(register_module(
          "layers." + std::to_string(k),
          std::make_shared<EncoderLayer>(plugin_util::EncoderLayerConfig{.hidden = ctx.hidden,
                                                                         .heads = heads,
                                                                         .ffn = ffn,
                                                                         .gelu = gelu,
                                                                         .dropout = dropout,
                                                                         .norm_first = norm_first},
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
