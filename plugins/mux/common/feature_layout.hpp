// feature_layout.hpp - the per-example features a built-in multiplexer codes, and its input check.
//
// Sequence and vector tasks feed [N, B, ..., d] with d = BuildContext::dim (one code entry per
// feature of the last axis); image tasks feed [N, B, C, H, W], whose C*H*W pixels form the feature
// vector. Either way the mux works on x viewed as [N, M, size] (M = the product of the batch and
// sequence axes) and returns [B, ...]: the input without its instance axis. Header-only: each plugin
// library compiles its own copy.
#pragma once

#include <datamux/context.hpp>
#include <datamux/ops.hpp>
#include <datamux/tensor.hpp>
#include <stdexcept>
#include <string>
#include <utility>

namespace datamux::plugin_util {

class FeatureLayout {
 public:
  /// `what` names the component in messages, e.g. "gaussian mux". Throws InputError when the
  /// context does not say how large the features are.
  FeatureLayout(std::string what, const BuildContext& ctx) : what_(std::move(what)), n_(ctx.instances) {
    if (n_ < 1) throw InputError(what_ + ": [model] instances must be >= 1, got " + std::to_string(n_));
    image_ = ctx.input == InputKind::Image;
    if (image_) {
      if (ctx.channels <= 0 || ctx.height <= 0 || ctx.width <= 0)
        throw InputError(
            what_ + ": the image shape is unknown (channels, height, width = " + std::to_string(ctx.channels) + ", " +
            std::to_string(ctx.height) + ", " + std::to_string(ctx.width) + "); the task must describe its images");
      feature_ = {ctx.channels, ctx.height, ctx.width};
    } else {
      if (ctx.dim <= 0)
        throw InputError(what_ + ": the feature size entering the mux (BuildContext::dim) is unknown (" +
                         std::to_string(ctx.dim) + "); set [model] hidden or the task's input size");
      feature_ = {ctx.dim};
    }
    size_ = shape_numel(feature_);
  }

  int64_t instances() const { return n_; }
  /// Features per example: d, or C*H*W for images.
  int64_t size() const { return size_; }
  bool image() const { return image_; }

  /// "[N=4, B, ..., d=64]" or "[N=4, B, C=1, H=28, W=28]".
  std::string expected() const {
    const std::string head = "[N=" + std::to_string(n_) + ", B, ";
    if (image_)
      return head + "C=" + std::to_string(feature_[0]) + ", H=" + std::to_string(feature_[1]) +
             ", W=" + std::to_string(feature_[2]) + "]";
    return head + "..., d=" + std::to_string(size_) + "]";
  }

  /// Throws std::invalid_argument unless x has the expected shape.
  void check(const Tensor& x) const {
    bool ok = x.defined() && x.dtype() == DType::f32 && x.dim() >= 3 && x.size(0) == n_;
    if (ok && image_)
      ok = x.dim() == 5 && x.size(2) == feature_[0] && x.size(3) == feature_[1] && x.size(4) == feature_[2];
    if (ok && !image_) ok = x.size(-1) == size_;
    if (ok) return;
    const std::string got = !x.defined()              ? std::string("an undefined tensor")
                            : x.dtype() != DType::f32 ? std::string(dtype_name(x.dtype())) + " " + shape_str(x.shape())
                                                      : shape_str(x.shape());
    throw std::invalid_argument(what_ + ": expected " + expected() + ", got " + got);
  }

  /// Checks x and views it as [N, M, size].
  Tensor flatten(const Tensor& x) const {
    check(x);
    return x.reshape({n_, -1, size_});
  }

  /// Shape of the mux output for input x: x's shape without the instance axis.
  static Shape output_shape(const Tensor& x) { return Shape(x.shape().begin() + 1, x.shape().end()); }

 private:
  std::string what_;
  int64_t n_ = 1;
  bool image_ = false;
  Shape feature_;
  int64_t size_ = 0;
};

}  // namespace datamux::plugin_util
