// mux "contextual" (MUX-PLMs' attention multiplexer): each instance is first contextualised over its
// own sequence, then coded, then the instances attend to each other at every position:
//
//   g^i   = TL_1(e(x^i)) + e(x^i)              TL_1 over instance i's sequence [L, d]
//   u^i_t = g^i_t ⊙ v_i                        v_i = c g_i / ||g_i||, g_i ~ N(0, I_d) (the gaussian mux's codes)
//   c_t   = TL_2(u^1_t, ..., u^N_t)             TL_2 over the N instances at position t
//   x_t   = (1/N) sum_i (c^i_t + u^i_t)
//
// Source: princeton-nlp/datamux-pretraining, datamux_pretraining/models/multiplexing_pretraining_bert.py,
// muxing_variant "gaussian_attention_v2" (muxing_attention / muxing_attention_2 are ElectraLayers:
// post-LN self-attention + gelu feed-forward with the model's heads and intermediate size; the codes
// are random_encoding(N, d, norm = gaussian_hadamard_norm), trained only with --learn_muxing).
//
// Batched as the reference is: TL_1 runs once over all N*B sequences ([N*B, L, d]); TL_2 once over all
// B*L positions ([B*L, N, d]). TL_1 masks each instance's own padding (forward_masked: the runtime
// passes the [N, B, L] mask), as the reference passes the attention mask to muxing_attention; TL_2 is
// not masked (at a position, a padded instance still contributes its coded embedding, as in the
// reference). forward(x) without a mask attends over every position.
// x: [N, B, L, d] -> [B, L, d]; sequences only. Parameters: tl1.*, tl2.* (as the transformer
// backbone's layers: attn.q_proj.weight, ffn.fc1.weight, norm1.weight, ...) and, when trainable,
// "codes" [N, d] (a buffer otherwise).
#include <datamux/multiplexer.hpp>
#include <datamux/plugin.hpp>
#include <memory>
#include <string>

#include "../../backbone/common/encoder_layer.hpp"
#include "../common/codes.hpp"

namespace {

using namespace datamux;

class ContextualMux : public Multiplexer {
 public:
  ContextualMux(const Options& o, const BuildContext& ctx) : n_(ctx.instances), dim_(ctx.dim) {
    if (ctx.input != InputKind::Sequence)
      throw InputError(std::string("contextual mux attends over token sequences, but the task feeds ") +
                       input_kind_name(ctx.input) + " inputs; use the gaussian mux");
    if (n_ < 1) throw InputError("contextual mux: [model] instances must be >= 1, got " + std::to_string(n_));
    if (dim_ <= 0) throw InputError("contextual mux: the embedding size (BuildContext::dim) is unknown");
    const int64_t heads = o.get_int("heads");
    if (dim_ % heads != 0)
      throw InputError("contextual mux: heads = " + std::to_string(heads) + " does not divide the embedding size " +
                       std::to_string(dim_) + "; pick a divisor");
    const plugin_util::EncoderLayerConfig layer{.hidden = dim_,
                                                .heads = heads,
                                                .ffn = o.get_int("ffn") > 0 ? o.get_int("ffn") : 4 * dim_,
                                                .gelu = true,
                                                .dropout = static_cast<float>(o.get_float("dropout")),
                                                .norm_first = false,
                                                .eps = static_cast<float>(o.get_float("eps"))};
    Rng& rng = *ctx.rng;  // reseeded by the registry when the seed option is set
    // Codes first, so that they equal the gaussian mux's for the same seed and norm.
    Tensor v = Tensor::from_vector(plugin_util::gaussian_codes(n_, dim_, o.get_float("norm"), rng), {n_, dim_});
    codes_ = o.get_bool("trainable") ? register_parameter("codes", v) : register_buffer("codes", v);
    tl1_ = register_module("tl1", std::make_shared<plugin_util::EncoderLayer>(
                                      layer, plugin_util::derive_seed(ctx.seed, 0), rng));
    tl2_ = register_module("tl2", std::make_shared<plugin_util::EncoderLayer>(
                                      layer, plugin_util::derive_seed(ctx.seed, 1), rng));
  }

  Tensor forward(const Tensor& x) override { return forward_masked(x, Tensor()); }

  Tensor forward_masked(const Tensor& x, const Tensor& mask) override {
    if (!x.defined() || x.dtype() != DType::f32 || x.dim() != 4 || x.size(0) != n_ || x.size(3) != dim_)
      throw std::invalid_argument("contextual mux: expected embedded sequences [N=" + std::to_string(n_) +
                                  ", B, L, d=" + std::to_string(dim_) + "], got " +
                                  (x.defined() ? shape_str(x.shape()) : std::string("an undefined tensor")));
    const int64_t b = x.size(1), l = x.size(2);
    if (mask.defined() && mask.shape() != Shape{n_, b, l})
      throw std::invalid_argument("contextual mux: expected a padding mask [N, B, L] = " +
                                  shape_str(Shape{n_, b, l}) + ", got " + shape_str(mask.shape()));
    const Tensor seqs = x.reshape({n_ * b, l, dim_});
    const Tensor own_padding = mask.defined() ? mask.contiguous().reshape({n_ * b, l}) : Tensor();
    const Tensor g = ops::add(tl1_->forward(seqs, own_padding), seqs).reshape({n_, b, l, dim_});
    const Tensor u = ops::mul(g, codes_.reshape({n_, 1, 1, dim_}));
    const Tensor across = u.permute({1, 2, 0, 3}).reshape({b * l, n_, dim_});  // one row per position
    const Tensor c = tl2_->forward(across, Tensor());
    return ops::mean(ops::add(c, across), {1}).reshape({b, l, dim_});
  }

 private:
  int64_t n_, dim_;
  Tensor codes_;
  std::shared_ptr<plugin_util::EncoderLayer> tl1_, tl2_;
};

}  // namespace

DATAMUX_PLUGIN(
    {.name = "contextual",
     .version = "1.0.0",
     .description = "Transformer layer per instance, Gaussian code, attention across the N instances, mean (MUX-PLMs)",
     .options =
         {
             datamux::opt_int("heads", 4, "attention heads of both layers (must divide the embedding size)", 1, 1024),
             datamux::opt_int("ffn", 0, "feed-forward inner size of both layers; 0 = 4 x the embedding size", 0,
                              1 << 20),
             datamux::opt_float("norm", 1.0,
                                "L2 norm c of each instance code (the reference's gaussian_hadamard_norm, 1)", 0.0,
                                1e6),
             datamux::opt_bool("trainable", false, "train the codes (the reference's --learn_muxing) instead of fixing them"),
             datamux::opt_float("dropout", 0.1, "dropout inside both layers (the reference's hidden_dropout_prob)", 0.0,
                                0.99),
             datamux::opt_float("eps", 1e-12, "layer-norm epsilon of both layers (the reference's layer_norm_eps)",
                                1e-12, 1.0),
             datamux::opt_int("seed", 0, "seed of the codes and weights; 0 = derive from the model seed", 0.0),
         },
     .create = datamux::factory<ContextualMux>})
