// backbone "cnn": a LeNet-style convolutional network, [B, C, H, W] -> [B, hidden].
//
// For each entry c of `channels`: conv (kernel k, stride 1, `padding`) -> activation -> max-pool (`pool`),
// then flatten -> dropout -> Linear to the model's hidden size -> activation (unless final_activation =
// false). With the defaults on 28x28 Fashion-MNIST: 1x28x28 -> 6x24x24 -> 6x12x12 -> 16x8x8 -> 16x4x4
// -> 256 -> hidden, the paper's vision backbone. The flattened size is fixed at build time from the
// image shape, so an image that does not fit is refused with the sizes involved.
// Parameters: convs.<k>.weight, convs.<k>.bias, fc.weight, fc.bias.
#include <datamux/backbone.hpp>
#include <datamux/nn.hpp>
#include <datamux/plugin.hpp>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "../common/activation.hpp"

namespace {

using namespace datamux;

using plugin_util::activate;

class Cnn : public Backbone {
 public:
  Cnn(const Options& o, const BuildContext& ctx)
      : activation_(o.get_string("activation")),
        pool_(o.get_int("pool")),
        final_activation_(o.get_bool("final_activation")) {
    if (ctx.input != InputKind::Image)
      throw InputError(std::string("backbone 'cnn' takes image inputs [B, C, H, W], but the task feeds ") +
                       input_kind_name(ctx.input) + " inputs; use 'mlp' or 'transformer'");
    if (ctx.hidden <= 0) throw InputError("backbone 'cnn': [model] hidden must be positive");
    in_channels_ = o.get_int("in_channels") > 0 ? o.get_int("in_channels") : ctx.channels;
    height_ = ctx.height;
    width_ = ctx.width;
    if (in_channels_ <= 0 || height_ <= 0 || width_ <= 0)
      throw InputError("backbone 'cnn': the image shape is unknown (channels " + std::to_string(in_channels_) +
                       ", height " + std::to_string(height_) + ", width " + std::to_string(width_) + ")");
    const IntList& channels = o.get_int_list("channels");
    if (channels.empty()) throw InputError("backbone 'cnn': option 'channels' needs at least one conv layer");
    const int64_t kernel = o.get_int("kernel");
    const int64_t padding = o.get_int("padding");
    int64_t c = in_channels_, h = height_, w = width_;
    for (std::size_t k = 0; k < channels.size(); ++k) {
      if (channels[k] <= 0)
        throw InputError("backbone 'cnn': channels[" + std::to_string(k) + "] = " + std::to_string(channels[k]) +
                         " must be positive");
      const int64_t conv_h = h + 2 * padding - kernel + 1, conv_w = w + 2 * padding - kernel + 1;
      if (conv_h < pool_ || conv_w < pool_)
        throw InputError("backbone 'cnn': a " + std::to_string(h) + "x" + std::to_string(w) +
                         " feature map is too small for conv layer " + std::to_string(k) + " (kernel " +
                         std::to_string(kernel) + ", padding " + std::to_string(padding) + ", pool " +
                         std::to_string(pool_) + "); use fewer channels entries, a smaller kernel or padding");
      convs_.push_back(register_module("convs." + std::to_string(k),
                                       std::make_shared<nn::Conv2d>(c, channels[k], kernel, *ctx.rng, 1, padding)));
      c = channels[k];
      h = conv_h / pool_;
      w = conv_w / pool_;
    }
    flat_ = c * h * w;
    dropout_ =
        register_module("dropout", std::make_shared<nn::Dropout>(static_cast<float>(o.get_float("dropout")), ctx.seed));
    fc_ = register_module("fc", std::make_shared<nn::Linear>(flat_, ctx.hidden, *ctx.rng));
  }

  Tensor forward(const Tensor& x, const Tensor& /*padding_mask*/) override {
    if (x.dim() != 4 || x.size(1) != in_channels_ || x.size(2) != height_ || x.size(3) != width_)
      throw std::invalid_argument("backbone 'cnn': expected input [B, " + std::to_string(in_channels_) + ", " +
                                  std::to_string(height_) + ", " + std::to_string(width_) + "], got " +
                                  shape_str(x.shape()));
    Tensor h = x;
    for (const auto& conv : convs_) h = ops::max_pool2d(activate(activation_, conv->forward(h)), pool_);
    h = dropout_->forward(h.reshape({x.size(0), flat_}));
    h = fc_->forward(h);
    return final_activation_ ? activate(activation_, h) : h;
  }

 private:
  std::string activation_;
  int64_t pool_;
  bool final_activation_;
  int64_t in_channels_ = 0, height_ = 0, width_ = 0, flat_ = 0;
  std::vector<std::shared_ptr<nn::Conv2d>> convs_;
  std::shared_ptr<nn::Dropout> dropout_;
  std::shared_ptr<nn::Linear> fc_;
};

}  // namespace

DATAMUX_PLUGIN(
    {.name = "cnn",
     .version = "1.0.0",
     .description = "LeNet-style conv -> activation -> max-pool stack, then Linear: [B, C, H, W] -> [B, hidden]",
     .options =
         {
             datamux::opt_int_list("channels", {6, 16}, "output channels of each conv layer (one entry per layer)"),
             datamux::opt_int("kernel", 5, "conv kernel size (square)", 1, 31),
             datamux::opt_int("padding", 0, "zero padding on each side of every conv", 0, 15),
             datamux::opt_int("pool", 2, "max-pool window and stride after each conv", 1, 16),
             datamux::opt_string("activation", "relu", "nonlinearity after each conv and the final Linear",
                                 {"relu", "gelu", "tanh"}),
             datamux::opt_bool("final_activation", true, "apply the activation after the final Linear"),
             datamux::opt_float("dropout", 0.0, "dropout probability before the final Linear (training only)", 0.0,
                                0.99),
             datamux::opt_int("in_channels", 0,
                              "channels of the multiplexed image entering the backbone; 0 = the task's channels", 0,
                              4096),
         },
     .create = datamux::factory<Cnn>})
