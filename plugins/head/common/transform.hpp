// The prediction transform the token-decoding heads (retrieval, mlm) put before the vocabulary decoder:
// LN(gelu(W h + b)), as BERT's and the DataMUX reference's prediction heads do. Header-only: each head
// plugin compiles its own copy (plugins are built with hidden visibility and share no library but the SDK).
#pragma once

#include <datamux/module.hpp>
#include <datamux/nn.hpp>
#include <datamux/ops.hpp>

#include <memory>

namespace datamux::plugin_util {

class Transform : public Module {
 public:
  Transform(int64_t hidden, Rng& rng) {
    dense_ = register_module("dense", std::make_shared<nn::Linear>(hidden, hidden, rng));
    norm_ = register_module("norm", std::make_shared<nn::LayerNorm>(hidden));
  }
  Tensor forward(const Tensor& x) const { return norm_->forward(dense_->forward(x, ops::Activation::gelu)); }

 private:
  std::shared_ptr<nn::Linear> dense_;
  std::shared_ptr<nn::LayerNorm> norm_;
};

}  // namespace datamux::plugin_util
