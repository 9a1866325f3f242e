// A well-formed test plugin: mux "test_scale", y = reduce_i (g_i * x_i) over the instance axis with one
// learned gain g_i per instance (reduce = mean or sum), each gain drawn as init + jitter * N(0, 1) from
// ctx.rng, so that tests can see which stream the registry handed over. Built twice (two file names, one manifest) to
// exercise duplicate detection.
#include <datamux/multiplexer.hpp>
#include <datamux/plugin.hpp>

namespace {

class ScaleMux : public datamux::Multiplexer {
 public:
  ScaleMux(const datamux::Options& o, const datamux::BuildContext& ctx)
      : mean_(o.get_string("reduce") == "mean"), n_(ctx.instances) {
    const auto init = static_cast<float>(o.get_float("init")), jitter = static_cast<float>(o.get_float("jitter"));
    std::vector<float> gains(static_cast<size_t>(ctx.instances));
    for (float& g : gains) g = init + jitter * ctx.rng->normal();
    datamux::Tensor g = datamux::Tensor::from_vector(gains, {ctx.instances});
    gain_ = o.get_bool("trainable") ? register_parameter("gain", g) : register_buffer("gain", g);
  }

  datamux::Tensor forward(const datamux::Tensor& x) override {
    if (x.dim() < 2 || x.size(0) != n_)
      throw std::invalid_argument("test_scale: expected [N, B, ...] with N = " + std::to_string(n_) + ", got " +
                                  datamux::shape_str(x.shape()));
    datamux::Shape s(static_cast<size_t>(x.dim()), 1);
    s[0] = n_;
    datamux::Tensor y = datamux::ops::sum(datamux::ops::mul(x, gain_.reshape(s)), {0});
    return mean_ ? datamux::ops::mul(y, 1.f / static_cast<float>(n_)) : y;
  }

 private:
  bool mean_;
  int64_t n_;
  datamux::Tensor gain_;
};

}  // namespace

DATAMUX_PLUGIN({.name = "test_scale",
                .version = "1.2.3",
                .description = "Learned per-instance gain, then mean or sum",
                .options =
                    {
                        datamux::opt_float("init", 1.0, "initial gain of every instance", 0.0, 100.0),
                        datamux::opt_string("reduce", "mean", "how instances are combined", {"mean", "sum"}),
                        datamux::opt_bool("trainable", true, "learn the gains (else a fixed buffer)"),
                        datamux::opt_float("jitter", 0.0, "spread of the random part of each initial gain", 0.0),
                        datamux::opt_int("seed", 0, "seed of the initial gains; 0 = the context's stream", 0.0),
                        datamux::opt_int("unused_count", 3, "an int option with a range, for validation tests", 1, 10),
                        datamux::opt_int_list("unused_list", {1, 2}, "an int list option, for validation tests"),
                    },
                .create = datamux::factory<ScaleMux>})
