// instance_scale: an out-of-tree multiplexer. Instance i is multiplied by a fixed random sign pattern
// s_i in {-1, +1}^d (a buffer: saved, not trained) and by a learned scalar gain a_i (a parameter),
// then the instances are summed and divided by N (or sqrt N):
//
//   mux(x) = (1 / N) * sum_i a_i * (s_i ⊙ x^i)
//
// The sign patterns make the instances separable for the demultiplexer (as the Gaussian codes of
// DataMUX do), and the gains let training re-weight instances whose index is harder to recover.
#include <cmath>
#include <datamux/multiplexer.hpp>
#include <datamux/plugin.hpp>
#include <string>

namespace {

using datamux::Shape;
using datamux::Tensor;

class InstanceScaleMux : public datamux::Multiplexer {
 public:
  InstanceScaleMux(const datamux::Options& o, const datamux::BuildContext& ctx) : n_(ctx.instances) {
    if (ctx.input == datamux::InputKind::Image)
      throw datamux::InputError(
          "instance_scale mixes feature vectors: use a sequence or vector task, or a conv mux for images");
    if (ctx.dim <= 0) throw datamux::InputError("instance_scale: the input size (BuildContext::dim) is unknown");
    // [N, 1, (1,) d] so that it broadcasts over the batch (and sequence) axes of x: [N, B, (L,) d].
    shape_ = ctx.input == datamux::InputKind::Sequence ? Shape{n_, 1, 1, ctx.dim} : Shape{n_, 1, ctx.dim};
    Shape gain_shape = shape_;
    gain_shape.back() = 1;

    datamux::Rng& rng = *ctx.rng;  // never null: the registry seeds it per component
    std::vector<float> signs(static_cast<size_t>(n_ * ctx.dim), 1.f);
    if (o.get_bool("signs"))
      for (float& s : signs) s = rng.uniform() < 0.5f ? -1.f : 1.f;
    signs_ = register_buffer("signs", Tensor::from_vector(signs, shape_));
    gain_ = register_parameter("gain", Tensor::full(gain_shape, static_cast<float>(o.get_float("init_gain"))));
    scale_ =
        o.get_string("normalize") == "mean" ? 1.f / static_cast<float>(n_) : 1.f / std::sqrt(static_cast<float>(n_));
  }

  Tensor forward(const Tensor& x) override {
    if (x.dim() != static_cast<int64_t>(shape_.size()) || x.size(0) != n_ || x.size(-1) != shape_.back())
      throw std::invalid_argument("instance_scale: expected input [N, B, ..., d] = [" + std::to_string(n_) +
                                  ", B, ..., " + std::to_string(shape_.back()) + "], got " +
                                  datamux::shape_str(x.shape()));
    using namespace datamux::ops;
    return mul(sum(mul(mul(x, signs_), gain_), {0}), scale_);
  }

 private:
  int64_t n_;
  Shape shape_;
  Tensor signs_, gain_;
  float scale_ = 1.f;
};

}  // namespace

DATAMUX_PLUGIN({.name = "instance_scale",
                .version = "1.0.0",
                .description = "Random sign pattern and a learned gain per instance, then the (1/N or 1/sqrt N) sum",
                .options =
                    {
                        datamux::opt_float("init_gain", 1.0, "initial gain a_i of every instance", 0.0, 1000.0),
                        datamux::opt_bool("signs", true, "multiply each instance by a fixed random +-1 pattern"),
                        datamux::opt_string("normalize", "mean", "divide the sum by N (mean) or by sqrt(N)",
                                            {"mean", "sqrt"}),
                    },
                .create = datamux::factory<InstanceScaleMux>})
