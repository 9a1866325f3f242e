// demux "mlp" (DataMUX): one small MLP per instance,
//
//   h^i = LN_i(gelu(W_i h + b_i)),   h: [B, ..., hidden] -> [N, B, ..., hidden]
//
// with its own weights and layer-norm affine per instance. All N layers run as one GEMM (weights
// stacked), one gelu and one layer norm over [M, N, hidden]; the per-instance affine then writes the
// result in instance-major order. Parameters: "dense.weight" [N, hidden, hidden] (W_i = [out, in] as
// torch.nn.Linear), "dense.bias" [N, hidden], "norm.weight" [N, hidden] (ones), "norm.bias" [N, hidden].
#include <datamux/demultiplexer.hpp>
#include <datamux/plugin.hpp>
#include <memory>

#include "../common/instance_linear.hpp"

namespace {

using namespace datamux;

class MlpDemux : public Demultiplexer {
 public:
  MlpDemux(const Options& o, const BuildContext& ctx)
      : n_(ctx.instances), hidden_(ctx.hidden), eps_(static_cast<float>(o.get_float("eps"))) {
    plugin_util::check_demux_context("mlp demux", ctx);
    Rng& rng = *ctx.rng;  // reseeded by the registry when the seed option is set
    weight_ = register_parameter("dense.weight", plugin_util::instance_linear_weight(n_, hidden_, hidden_, rng));
    bias_ = register_parameter("dense.bias", plugin_util::instance_linear_bias(n_, hidden_, hidden_, rng));
    gamma_ = register_parameter("norm.weight", Tensor::ones({n_, hidden_}));
    beta_ = register_parameter("norm.bias", Tensor::zeros({n_, hidden_}));
  }

  bool position_wise() const override { return true; }  // output t reads h_t (and the prefix) only

  Tensor forward(const Tensor& h) override {
    plugin_util::check_states("mlp demux", h, hidden_);
    const Tensor y =
        ops::gelu(plugin_util::instance_linear(h.reshape({-1, hidden_}), weight_, bias_));  // [M, N, hidden]
    const Tensor z = ops::layer_norm(y, Tensor(), Tensor(), eps_).permute({1, 0, 2});       // [N, M, hidden]
    const Tensor out = ops::add(ops::mul(z, gamma_.unsqueeze(1)), beta_.unsqueeze(1));
    return out.reshape(plugin_util::with_instance_axis(n_, h));
  }

 private:
  int64_t n_, hidden_;
  float eps_;
  Tensor weight_, bias_, gamma_, beta_;
};

}  // namespace

DATAMUX_PLUGIN(
    {.name = "mlp",
     .version = "1.0.0",
     .description = "One gelu MLP with layer norm per instance (DataMUX): [B, ..., hidden] -> [N, B, ..., hidden]",
     .options =
         {
             datamux::opt_float("eps", 1e-5, "layer-norm epsilon", 1e-12, 1.0),
             datamux::opt_int("seed", 0, "seed of the weight initialisation; 0 = derive from the model seed", 0.0),
         },
     .create = datamux::factory<MlpDemux>})
