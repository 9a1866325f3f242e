// code_mux.hpp - the multiplexers that weight each instance's features by its own code vector:
//
//   mux(x) = (1/N) sum_i x_i ⊙ v_i          x: [N, B, ..., d] (or [N, B, C, H, W]), v: [N, d]
//
// gaussian, binary_hadamard and hadamard differ only in how v is made; each derives from
// CodeMux and passes its codes to set_codes. The codes are saved under the name "codes", as a
// parameter when they train and as a buffer (saved, never updated, no gradient) when fixed.
#pragma once

#include <datamux/multiplexer.hpp>
#include <string>
#include <utility>
#include <vector>

#include "feature_layout.hpp"

namespace datamux::plugin_util {

class CodeMux : public Multiplexer {
 public:
  Tensor forward(const Tensor& x) override {
    const Tensor x3 = layout_.flatten(x);  // [N, M, d]
    const Tensor mixed = ops::instance_weighted_mean(x3, codes_);  // one pass, no [N, M, d] product
    return mixed.reshape(FeatureLayout::output_shape(x));
  }

 protected:
  CodeMux(std::string what, const BuildContext& ctx) : layout_(std::move(what), ctx) {}

  /// Registers the row-major [N, d] codes as "codes".
  void set_codes(const std::vector<float>& codes, bool trainable) {
    Tensor v = Tensor::from_vector(codes, {layout_.instances(), layout_.size()});
    codes_ = trainable ? register_parameter("codes", v) : register_buffer("codes", v);
  }

  const FeatureLayout& layout() const { return layout_; }

 private:
  FeatureLayout layout_;
  Tensor codes_;
};

}  // namespace datamux::plugin_util
