// demux "linear": one linear map per instance,
//
//   h^i = W_i h + b_i,   h: [B, ..., hidden] -> [N, B, ..., hidden]
//
// meant for vector outputs ([B, hidden] from an MLP or CNN backbone), and the cheapest demux to put
// behind a sequence backbone too. The N maps run as one GEMM (weights stacked). Parameters:
// "weight" [N, hidden, hidden] (W_i = weight[i], [out, in] as torch.nn.Linear) and "bias" [N, hidden].
#include <datamux/demultiplexer.hpp>
#include <datamux/plugin.hpp>
#include <memory>

#include "../common/instance_linear.hpp"

namespace {

using namespace datamux;

class LinearDemux : public Demultiplexer {
 public:
  LinearDemux(const Options& o, const BuildContext& ctx) : n_(ctx.instances), hidden_(ctx.hidden) {
    plugin_util::check_demux_context("linear demux", ctx);
    Rng& rng = *ctx.rng;  // reseeded by the registry when the seed option is set
    weight_ = register_parameter("weight", plugin_util::instance_linear_weight(n_, hidden_, hidden_, rng));
    if (o.get_bool("bias"))
      bias_ = register_parameter("bias", plugin_util::instance_linear_bias(n_, hidden_, hidden_, rng));
  }

  bool position_wise() const override { return true; }  // output t reads h_t (and the prefix) only

  Tensor forward(const Tensor& h) override {
    plugin_util::check_states("linear demux", h, hidden_);
    const Tensor y = plugin_util::instance_linear(h.reshape({-1, hidden_}), weight_, bias_);  // [M, N, hidden]
    return y.permute({1, 0, 2}).contiguous().reshape(plugin_util::with_instance_axis(n_, h));
  }

 private:
  int64_t n_, hidden_;
  Tensor weight_, bias_;
};

}  // namespace

DATAMUX_PLUGIN({.name = "linear",
                .version = "1.0.0",
                .description = "One linear map per instance: [B, ..., hidden] -> [N, B, ..., hidden]",
                .options =
                    {
                        datamux::opt_bool("bias", true, "add a learned bias b_i per instance"),
                        datamux::opt_int("seed", 0, "seed of the weight initialisation; 0 = derive from the model seed",
                                         0.0),
                    },
                .create = datamux::factory<LinearDemux>})
