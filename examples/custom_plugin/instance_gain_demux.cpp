// instance_gain: an out-of-tree demultiplexer. Every instance i reads the shared backbone output h
// through its own learned gain and bias, g_i ⊙ h + b_i, optionally followed by tanh:
//
//   demux(h)^i = act(g_i ⊙ h + b_i)        h: [B, (L,) hidden] -> [N, B, (L,) hidden]
//
// It adds no prefix tokens (prefix_length 0, prepare = identity). Gains start near 1 with a small
// per-instance perturbation so the instances are told apart from the first step.
#include <datamux/demultiplexer.hpp>
#include <datamux/plugin.hpp>
#include <string>

namespace {

using datamux::Shape;
using datamux::Tensor;

class InstanceGainDemux : public datamux::Demultiplexer {
 public:
  InstanceGainDemux(const datamux::Options& o, const datamux::BuildContext& ctx)
      : n_(ctx.instances), tanh_(o.get_string("activation") == "tanh") {
    if (ctx.hidden <= 0) throw datamux::InputError("instance_gain: [model] hidden must be positive");
    seq_ = ctx.input == datamux::InputKind::Sequence;
    const Shape shape = seq_ ? Shape{n_, 1, 1, ctx.hidden} : Shape{n_, 1, ctx.hidden};
    datamux::Rng& rng = *ctx.rng;  // never null: the registry seeds it per component
    gain_ = register_parameter("gain", Tensor::randn(shape, rng, 1.f, static_cast<float>(o.get_float("init_spread"))));
    bias_ = register_parameter("bias", Tensor::zeros(shape));
  }

  Tensor forward(const Tensor& h) override {
    const int64_t want = seq_ ? 3 : 2;
    if (h.dim() != want || h.size(-1) != gain_.size(-1))
      throw std::invalid_argument("instance_gain: expected [B, " + std::string(seq_ ? "T, " : "") +
                                  std::to_string(gain_.size(-1)) + "], got " + datamux::shape_str(h.shape()));
    using namespace datamux::ops;
    Tensor y = add(mul(h.unsqueeze(0), gain_), bias_);  // broadcasts to [N, B, (T,) hidden]
    return tanh_ ? datamux::ops::tanh(y) : y;
  }

 private:
  int64_t n_;
  bool tanh_;
  bool seq_ = true;
  Tensor gain_, bias_;
};

}  // namespace

DATAMUX_PLUGIN({.name = "instance_gain",
                .version = "1.0.0",
                .description = "Per-instance learned gain and bias on the shared backbone output",
                .options =
                    {
                        datamux::opt_float("init_spread", 0.1, "standard deviation of the initial gains around 1", 0.0,
                                           10.0),
                        datamux::opt_string("activation", "none", "applied after the affine map", {"none", "tanh"}),
                    },
                .create = datamux::factory<InstanceGainDemux>})
