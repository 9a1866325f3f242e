// demux "index" (DataMUX): instances are told apart by index tokens the backbone sees.
//
// prepare: every instance's embedded sequence [L, d] gets a prefix of N+1 learned embeddings: instance
// i has its index marker ε_i at prefix position i, the shared filler at the other N-1 positions and
// the shared CLS at position N, so [N, B, L, d] -> [N, B, N+1+L, d]. After the mux, position i of the
// mixed sequence carries instance i's marker.
//
// forward: with p_i = h[:, i] (the backbone state at prefix position i) and h_t a token state,
//
//   h^i_t = LN(gelu(W [p_i ; h_t] + b)) = LN(gelu(W_p p_i + W_h h_t + b)),   [B, N+1+L, hidden] -> [N, B, L, hidden]
//
// computed as one matmul over the L tokens plus one over the N prefix states, broadcast together, so
// the [N, B, L, 2*hidden] concatenation is never built. Parameters: prefix.index [N, d], prefix.filler
// [d], prefix.cls [d]; proj.prefix_weight and proj.token_weight [hidden, hidden] (W = [W_p | W_h],
// initialised as torch.nn.Linear(2*hidden, hidden)), proj.bias [hidden]; norm.weight, norm.bias.
//
// Option inner_width = K > 0 widens the layer (an extension, not in DataMUX):
//
//   h^i_t = LN(W_o gelu(W [p_i ; h_t] + b) + b_o),   W [K, 2*hidden], W_o [hidden, K] (out.weight, out.bias)
//
// Why: the instance enters only through the bias W_p p_i, which decides which of the layer's units
// pass gelu for instance i; the content every instance reads is the one projection W_h h_t. At hidden
// 128 and N = 40 the retrieval warm-up crawls (9% after 1600 steps); K = 1024 takes it to 68%, a model
// of hidden 256 to 94% by step 1400 (docs/results.md, "Large N": the shipped N = 40 pipeline widens
// the model instead).
#include <cmath>
#include <datamux/demultiplexer.hpp>
#include <datamux/nn.hpp>
#include <datamux/plugin.hpp>
#include <memory>
#include <string>
#include <vector>

#include "../common/instance_linear.hpp"

namespace {

using namespace datamux;

class IndexDemux : public Demultiplexer {
 public:
  IndexDemux(const Options& o, const BuildContext& ctx)
      : n_(ctx.instances), dim_(ctx.dim), hidden_(ctx.hidden), inner_(o.get_int("inner_width")) {
    if (ctx.input != InputKind::Sequence)
      throw InputError(std::string("index demux prepends prefix tokens to sequences, but the task feeds ") +
                       input_kind_name(ctx.input) + " inputs; use the mlp or linear demux");
    plugin_util::check_demux_context("index demux", ctx);
    if (dim_ <= 0) throw InputError("index demux: the embedding size (BuildContext::dim) is unknown");

    Rng& rng = *ctx.rng;  // reseeded by the registry when the seed option is set
    const auto stddev = static_cast<float>(o.get_float("prefix_std"));
    index_ = register_parameter("prefix.index", Tensor::randn({n_, dim_}, rng, 0.f, stddev));
    filler_ = register_parameter("prefix.filler", Tensor::randn({dim_}, rng, 0.f, stddev));
    cls_ = register_parameter("prefix.cls", Tensor::randn({dim_}, rng, 0.f, stddev));
    const int64_t width = inner_ > 0 ? inner_ : hidden_;
    const float bound = 1.f / std::sqrt(static_cast<float>(2 * hidden_));
    prefix_weight_ = register_parameter("proj.prefix_weight", Tensor::uniform({width, hidden_}, rng, -bound, bound));
    token_weight_ = register_parameter("proj.token_weight", Tensor::uniform({width, hidden_}, rng, -bound, bound));
    bias_ = register_parameter("proj.bias", Tensor::uniform({width}, rng, -bound, bound));
    if (inner_ > 0) {  // torch.nn.Linear(K, hidden)'s init
      const float out_bound = 1.f / std::sqrt(static_cast<float>(inner_));
      out_weight_ = register_parameter("out.weight", Tensor::uniform({hidden_, inner_}, rng, -out_bound, out_bound));
      out_bias_ = register_parameter("out.bias", Tensor::uniform({hidden_}, rng, -out_bound, out_bound));
    }
    norm_ = register_module("norm", std::make_shared<nn::LayerNorm>(hidden_, static_cast<float>(o.get_float("eps"))));

    // Which prefix slot holds what, per instance: [N, N+1, 1] 0/1 masks (structure, not state).
    const int64_t p = n_ + 1;
    std::vector<float> marker(static_cast<std::size_t>(n_ * p), 0.f), filler(marker.size(), 0.f),
        cls(marker.size(), 0.f);
    for (int64_t i = 0; i < n_; ++i)
      for (int64_t j = 0; j < p; ++j) (j == i ? marker : j == n_ ? cls : filler)[i * p + j] = 1.f;
    marker_mask_ = Tensor::from_vector(marker, {n_, p, 1});
    filler_mask_ = Tensor::from_vector(filler, {n_, p, 1});
    cls_mask_ = Tensor::from_vector(cls, {n_, p, 1});
  }

  int64_t prefix_length() const override { return n_ + 1; }

  Tensor prepare(const Tensor& x) override {
    if (!x.defined() || x.dtype() != DType::f32 || x.dim() != 4 || x.size(0) != n_ || x.size(3) != dim_)
      throw std::invalid_argument("index demux prepare: expected embedded inputs [N=" + std::to_string(n_) +
                                  ", B, L, d=" + std::to_string(dim_) + "], got " +
                                  (x.defined() ? shape_str(x.shape()) : std::string("an undefined tensor")));
    const Tensor prefix =
        ops::add(ops::add(ops::mul(marker_mask_, index_.unsqueeze(1)), ops::mul(filler_mask_, filler_)),
                 ops::mul(cls_mask_, cls_));  // [N, N+1, d]
    return ops::concat({prefix.unsqueeze(1).expand({n_, x.size(1), n_ + 1, dim_}), x}, 2);
  }

  bool position_wise() const override { return true; }  // output t reads h_t (and the prefix) only

  Tensor forward(const Tensor& h) override {
    const int64_t p = n_ + 1;
    if (!h.defined() || h.dtype() != DType::f32 || h.dim() != 3 || h.size(1) <= p || h.size(2) != hidden_)
      throw std::invalid_argument("index demux: expected backbone states [B, N+1+L, hidden=" + std::to_string(hidden_) +
                                  "] with the N+1=" + std::to_string(p) + " prefix positions first and L >= 1, got " +
                                  (h.defined() ? shape_str(h.shape()) : std::string("an undefined tensor")));
    const Tensor tokens = ops::linear(h.slice(1, p, h.size(1)), token_weight_, bias_);             // [B, L, width]
    const Tensor prefixes = ops::linear(h.slice(1, 0, n_), prefix_weight_);                        // [B, N, width]
    const Tensor mixed = ops::add(prefixes.permute({1, 0, 2}).unsqueeze(2), tokens.unsqueeze(0));  // [N, B, L, width]
    if (inner_ == 0) return norm_->forward(ops::gelu(mixed));
    return norm_->forward(ops::linear(ops::gelu(mixed), out_weight_, out_bias_));                 // [N, B, L, hidden]
  }

 private:
  int64_t n_, dim_, hidden_, inner_;
  Tensor index_, filler_, cls_, prefix_weight_, token_weight_, bias_, out_weight_, out_bias_;
  std::shared_ptr<nn::LayerNorm> norm_;
  Tensor marker_mask_, filler_mask_, cls_mask_;
};

}  // namespace

DATAMUX_PLUGIN(
    {.name = "index",
     .version = "1.0.0",
     .description = "Index prefix tokens before the mux; h^i_t = LN(gelu(W [p_i ; h_t] + b)) after (DataMUX)",
     .options =
         {
             datamux::opt_float("prefix_std", 1.0,
                                "stddev of the N(0, s) init of the index, filler and CLS embeddings (the "
                                "task embedding is layer-normed, so 1 matches its scale)",
                                0.0, 100.0),
             datamux::opt_int("inner_width", 0,
                              "0 = DataMUX's single layer; K > 0 = a K-wide gelu layer, then a projection back "
                              "to hidden before the layer norm (more units per instance at large N)",
                              0, 1 << 16),
             datamux::opt_float("eps", 1e-5, "layer-norm epsilon", 1e-12, 1.0),
             datamux::opt_int("seed", 0, "seed of the initialisation; 0 = derive from the model seed", 0.0),
         },
     .create = datamux::factory<IndexDemux>})
