// demux "rsa" (MUX-PLMs' `index_pos` demultiplexer): instances are told apart by N learned key
// vectors k_i instead of prefix tokens, so sequences do not grow with N. For a backbone state h_t:
//
//   x^i_1 = LN_1(gelu(W_1 [k_i ; h_t] + b_1))                     W_1: [hidden, 2 hidden]
//   x^i_l = LN_l(gelu(W_l x^i_{l-1} + b_l)) + x^i_{l-1}            l = 2 .. layers
//   h^i_t = LN_p(gelu(W_p x^i_L + b_p)) + x^i_L                    the "pre-decoder" block
//
// Source: princeton-nlp/datamux-pretraining, datamux_pretraining/models/multiplexing_pretraining_utils.py,
// IndexPosDemuxModule (keys = torch.randn(N, hidden), dense_1 = Linear(2 hidden, hidden), dense_l,
// layer_norm_l) and RetrievalHeadIndexPosDemultiplexing.forward (the block structure above; the
// ELECTRA models use it). The reference's token-level task head (IndexPosDemultiplexerTokenLevel)
// runs the loop to layers - 1 and calls the dropout where the layer norm belongs; we follow the
// retrieval head for every use, as the issue asks. The vocabulary decoder is the head's job here.
//
// One batched computation: W_1 [k_i ; h_t] = W_k k_i + W_h h_t, so the keys ([N, hidden]) and the
// states ([M, hidden]) are each projected once and broadcast together into [N, M, hidden]; the later
// blocks are single GEMMs over all N*M rows. h: [B, (L,) hidden] -> [N, B, (L,) hidden].
// Parameters: keys [N, hidden]; block1.dense.weight [hidden, 2 hidden] (key columns first, as the
// reference concatenates), block<l>.dense.{weight,bias} and block<l>.norm.{weight,bias} for
// l = 1..layers; pre_decoder.dense.*, pre_decoder.norm.*. Linear layers start as torch.nn.Linear does, as every datamux plugin; the
// reference re-initialises them N(0, 0.02) through HF's init_weights.
#include <datamux/demultiplexer.hpp>
#include <datamux/nn.hpp>
#include <datamux/plugin.hpp>
#include <memory>
#include <string>
#include <vector>

#include "../common/instance_linear.hpp"

namespace {

using namespace datamux;

/// x -> LN(gelu(W x + b)), the unit every block of the reference's demux module is made of.
class DenseGeluNorm : public Module {
 public:
  DenseGeluNorm(int64_t in, int64_t hidden, float eps, Rng& rng) {
    dense_ = register_module("dense", std::make_shared<nn::Linear>(in, hidden, rng));
    norm_ = register_module("norm", std::make_shared<nn::LayerNorm>(hidden, eps));
  }
  Tensor finish(const Tensor& pre_activation) const { return norm_->forward(ops::gelu(pre_activation)); }
  Tensor forward(const Tensor& x) const { return finish(dense_->forward(x)); }
  const nn::Linear& dense() const { return *dense_; }

 private:
  std::shared_ptr<nn::Linear> dense_;
  std::shared_ptr<nn::LayerNorm> norm_;
};

class RsaDemux : public Demultiplexer {
 public:
  RsaDemux(const Options& o, const BuildContext& ctx) : n_(ctx.instances), hidden_(ctx.hidden) {
    plugin_util::check_demux_context("rsa demux", ctx);
    const auto eps = static_cast<float>(o.get_float("eps"));
    Rng& rng = *ctx.rng;  // reseeded by the registry when the seed option is set
    keys_ = register_parameter("keys", Tensor::randn({n_, hidden_}, rng));
    const int64_t layers = o.get_int("layers");
    for (int64_t l = 1; l <= layers; ++l)
      blocks_.push_back(register_module("block" + std::to_string(l),
                                        std::make_shared<DenseGeluNorm>(l == 1 ? 2 * hidden_ : hidden_, hidden_, eps, rng)));
    pre_decoder_ = register_module("pre_decoder", std::make_shared<DenseGeluNorm>(hidden_, hidden_, eps, rng));
  }

  bool position_wise() const override { return true; }  // output t reads h_t (and the prefix) only

  Tensor forward(const Tensor& h) override {
    plugin_util::check_states("rsa demux", h, hidden_);
    const nn::Linear& first = blocks_.front()->dense();
    // W_1 = [W_k | W_h]: the key half applied to the N keys, the state half to the M states.
    const Tensor w_key = first.weight.slice(1, 0, hidden_).contiguous();
    const Tensor w_state = first.weight.slice(1, hidden_, 2 * hidden_).contiguous();
    const Tensor states = ops::linear(h.reshape({-1, hidden_}), w_state, first.bias);      // [M, hidden]
    const Tensor keys = ops::linear(keys_, w_key);                                          // [N, hidden]
    Tensor x = blocks_.front()->finish(ops::add(keys.unsqueeze(1), states.unsqueeze(0)));  // [N, M, hidden]
    for (std::size_t l = 1; l < blocks_.size(); ++l) x = ops::add(blocks_[l]->forward(x), x);
    x = ops::add(pre_decoder_->forward(x), x);
    return x.reshape(plugin_util::with_instance_axis(n_, h));
  }

 private:
  int64_t n_, hidden_;
  Tensor keys_;
  std::vector<std::shared_ptr<DenseGeluNorm>> blocks_;
  std::shared_ptr<DenseGeluNorm> pre_decoder_;
};

}  // namespace

DATAMUX_PLUGIN(
    {.name = "rsa",
     .version = "1.0.0",
     .description = "Learned key per instance, h^i = MLP([k_i ; h]) with residual blocks, no prefix tokens (MUX-PLMs)",
     .options =
         {
             datamux::opt_int("layers", 2,
                              "dense-gelu-norm blocks before the pre-decoder block: the first maps [k_i ; h] "
                              "(2 hidden) to hidden, the others are residual (the reference fine-tunes with 3)",
                              1, 64),
             datamux::opt_float("eps", 1e-12, "layer-norm epsilon (the reference's layer_norm_eps)", 1e-12, 1.0),
             datamux::opt_int("seed", 0, "seed of the keys and weights; 0 = derive from the model seed", 0.0),
         },
     .create = datamux::factory<RsaDemux>})
