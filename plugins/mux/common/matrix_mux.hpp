// matrix_mux.hpp - the multiplexers that rotate each instance by its own d x d matrix:
//
//   mux(x) = sum_i O_i x_i / sqrt(N)          x: [N, B, ..., d] (or [N, B, C, H, W]), O: [N, d, d]
//
// One batched matmul over the instances (x viewed as [N, M, d] times O^T), then the sum over the
// instance axis. random_ortho derives from MatrixMux (fixed, or trained with trainable = true); the
// matrices are saved as "matrices", a parameter when they train and a buffer when fixed.
#pragma once

#include <cmath>
#include <datamux/multiplexer.hpp>
#include <string>
#include <utility>
#include <vector>

#include "feature_layout.hpp"

namespace datamux::plugin_util {

class MatrixMux : public Multiplexer {
 public:
  Tensor forward(const Tensor& x) override {
    const Tensor x3 = layout_.flatten(x);                            // [N, M, d]
    const Tensor rotated = ops::matmul(x3, matrices_, false, true);  // row form of O_i x_i: x_i O_i^T
    const Tensor mixed = ops::mul(ops::sum(rotated, {0}), scale_);
    return mixed.reshape(FeatureLayout::output_shape(x));
  }

 protected:
  MatrixMux(std::string what, const BuildContext& ctx)
      : layout_(std::move(what), ctx), scale_(1.f / std::sqrt(static_cast<float>(layout_.instances()))) {}

  /// Registers the row-major [N, d, d] matrices as "matrices".
  void set_matrices(const std::vector<float>& m, bool trainable) {
    Tensor o = Tensor::from_vector(m, {layout_.instances(), layout_.size(), layout_.size()});
    matrices_ = trainable ? register_parameter("matrices", o) : register_buffer("matrices", o);
  }

  const FeatureLayout& layout() const { return layout_; }

 private:
  FeatureLayout layout_;
  float scale_;
  Tensor matrices_;
};

}  // namespace datamux::plugin_util
