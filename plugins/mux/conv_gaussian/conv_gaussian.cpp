// mux "conv_gaussian" (DataMUX, vision): each instance gets its own fixed random N(0, 1) k x k
// convolution (stride 1, padding k/2, C -> C' channels, no bias) and the convolved images are summed:
//
//   mux(x) = sum_i conv(x_i, K_i),   x: [N, B, C, H, W] -> [B, C', H, W]
//
// The N convolutions run as one: the instances are stacked along the channels ([B, N*C, H, W]) and
// convolved with the kernels side by side, weight [C', N*C, k, k] whose input channels
// [i*C, (i+1)*C) are instance i's kernel K_i. Saved as the buffer "weight", or a parameter when
// trainable = true.
#include <datamux/multiplexer.hpp>
#include <datamux/plugin.hpp>
#include <memory>
#include <string>

#include "../common/feature_layout.hpp"

namespace {

using namespace datamux;

class ConvGaussianMux : public Multiplexer {
 public:
  ConvGaussianMux(const Options& o, const BuildContext& ctx) : n_(ctx.instances), c_(ctx.channels) {
    if (ctx.input != InputKind::Image)
      throw InputError(std::string("conv_gaussian mux convolves images, but the task feeds ") +
                       input_kind_name(ctx.input) + " inputs; use the gaussian mux for sequences and vectors");
    if (n_ < 1) throw InputError("conv_gaussian mux: [model] instances must be >= 1, got " + std::to_string(n_));
    if (ctx.channels <= 0 || ctx.height <= 0 || ctx.width <= 0)
      throw InputError(
          "conv_gaussian mux: the image shape is unknown (channels, height, width = " + std::to_string(ctx.channels) +
          ", " + std::to_string(ctx.height) + ", " + std::to_string(ctx.width) + ")");
    const int64_t k = o.get_int("kernel_size");
    if (k % 2 == 0)
      throw InputError("conv_gaussian mux: kernel_size must be odd so that padding k/2 keeps H and W, got " +
                       std::to_string(k));
    padding_ = k / 2;
    out_channels_ = o.get_int("out_channels") > 0 ? o.get_int("out_channels") : c_;
    h_ = ctx.height;
    w_ = ctx.width;
    Rng& rng = *ctx.rng;  // reseeded by the registry when the seed option is set
    Tensor kernels = Tensor::randn({out_channels_, n_ * c_, k, k}, rng);
    weight_ = o.get_bool("trainable") ? register_parameter("weight", kernels) : register_buffer("weight", kernels);
  }

  Tensor forward(const Tensor& x) override {
    if (!x.defined() || x.dtype() != DType::f32 || x.dim() != 5 || x.size(0) != n_ || x.size(2) != c_ ||
        x.size(3) != h_ || x.size(4) != w_)
      throw std::invalid_argument("conv_gaussian mux: expected [N=" + std::to_string(n_) +
                                  ", B, C=" + std::to_string(c_) + ", H=" + std::to_string(h_) +
                                  ", W=" + std::to_string(w_) + "], got " +
                                  (x.defined() ? shape_str(x.shape()) : std::string("an undefined tensor")));
    const int64_t b = x.size(1);
    const Tensor stacked = x.permute({1, 0, 2, 3, 4}).reshape({b, n_ * c_, h_, w_});
    return ops::conv2d(stacked, weight_, Tensor(), 1, padding_);
  }

 private:
  int64_t n_, c_, h_ = 0, w_ = 0, out_channels_ = 0, padding_ = 1;
  Tensor weight_;
};

}  // namespace

DATAMUX_PLUGIN({.name = "conv_gaussian",
                .version = "1.0.0",
                .description = "Fixed random N(0,1) convolution per instance (images), outputs summed (DataMUX vision)",
                .options =
                    {
                        datamux::opt_int("out_channels", 0, "channels C' of the multiplexed image; 0 = the input's C",
                                         0.0, 4096.0),
                        datamux::opt_int("kernel_size", 3, "odd kernel size k (padding k/2 keeps H and W)", 1.0, 15.0),
                        datamux::opt_int("seed", 0, "seed of the random kernels; 0 = derive from the model seed", 0.0),
                        datamux::opt_bool("trainable", false,
                                          "train the kernels (a parameter) instead of keeping them fixed"),
                    },
                .create = datamux::factory<ConvGaussianMux>})
