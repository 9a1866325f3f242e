// backbone "mlp": a stack of fully connected layers, [B, in] -> [B, hidden].
//
// Layers: in -> width -> ... -> width -> hidden (`depth` Linear layers in all; depth 1 is in -> hidden),
// each followed by the activation (the last one too unless final_activation = false) and, between
// layers, dropout. `in` is the context's `dim` for vector inputs and C*H*W for images, which are
// flattened, so the same backbone serves both (the paper's image MLP baseline).
// Parameters: layers.<k>.weight, layers.<k>.bias.
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

class Mlp : public Backbone {
 public:
  Mlp(const Options& o, const BuildContext& ctx) : activation_(o.get_string("activation")) {
    if (ctx.input == InputKind::Image) {
      in_ = ctx.channels * ctx.height * ctx.width;
      image_ = true;
    } else if (ctx.input == InputKind::Vector) {
      in_ = ctx.dim;
    } else {
      throw InputError(std::string("backbone 'mlp' takes vector or image inputs, but the task feeds ") +
                       input_kind_name(ctx.input) + " inputs; use the 'transformer' backbone for sequences");
    }
    if (in_ <= 0) throw InputError("backbone 'mlp': the input size is unknown (0); set [model] dim or the image shape");
    if (ctx.hidden <= 0) throw InputError("backbone 'mlp': [model] hidden must be positive");
    const int64_t depth = o.get_int("depth");
    const int64_t width = o.get_int("width") > 0 ? o.get_int("width") : ctx.hidden;
    final_activation_ = o.get_bool("final_activation");
    int64_t fan_in = in_;
    for (int64_t k = 0; k < depth; ++k) {
      const int64_t fan_out = k + 1 == depth ? ctx.hidden : width;
      layers_.push_back(
          register_module("layers." + std::to_string(k), std::make_shared<nn::Linear>(fan_in, fan_out, *ctx.rng)));
      fan_in = fan_out;
    }
    dropout_ =
        register_module("dropout", std::make_shared<nn::Dropout>(static_cast<float>(o.get_float("dropout")), ctx.seed));
  }

  Tensor forward(const Tensor& x, const Tensor& /*padding_mask*/) override {
    const bool ok =
        image_ ? (x.dim() == 4 && x.size(1) * x.size(2) * x.size(3) == in_) : (x.dim() == 2 && x.size(1) == in_);
    if (!ok)
      throw std::invalid_argument(
          "backbone 'mlp': expected input " +
          (image_ ? "[B, C, H, W] with C*H*W = " + std::to_string(in_) : "[B, " + std::to_string(in_) + "]") +
          ", got " + shape_str(x.shape()));
    Tensor h = image_ ? x.reshape({x.size(0), in_}) : x;
    for (std::size_t k = 0; k < layers_.size(); ++k) {
      h = layers_[k]->forward(h);
      const bool last = k + 1 == layers_.size();
      if (!last || final_activation_) h = activate(activation_, h);
      if (!last) h = dropout_->forward(h);
    }
    return h;
  }

 private:
  std::string activation_;
  int64_t in_ = 0;
  bool image_ = false;
  bool final_activation_ = true;
  std::vector<std::shared_ptr<nn::Linear>> layers_;
  std::shared_ptr<nn::Dropout> dropout_;
};

}  // namespace

DATAMUX_PLUGIN(
    {.name = "mlp",
     .version = "1.0.0",
     .description = "Fully connected layers on flat features (images are flattened): [B, in] -> [B, hidden]",
     .options =
         {
             datamux::opt_int("depth", 2, "number of Linear layers (the last one maps to the model's hidden size)", 1,
                              64),
             datamux::opt_int("width", 0, "size of the inner layers; 0 = the model's hidden size", 0, 1 << 20),
             datamux::opt_string("activation", "relu", "nonlinearity after each layer", {"relu", "gelu", "tanh"}),
             datamux::opt_bool("final_activation", true, "apply the activation after the last layer too"),
             datamux::opt_float("dropout", 0.0, "dropout probability between layers (training only)", 0.0, 0.99),
         },
     .create = datamux::factory<Mlp>})
