// datamux/backbone.hpp - the network that runs once on the multiplexed representation.
#pragma once

#include <datamux/module.hpp>

namespace datamux {

/// Sequence backbones map [B, T, dim] -> [B, T, hidden]; vector backbones [B, dim] -> [B, hidden];
/// image backbones [B, C, H, W] -> [B, hidden]. `padding_mask` (f32 [B, T], 1 = token, 0 = padding)
/// is given to sequence backbones; others ignore it.
class DATAMUX_API Backbone : public Module {
 public:
  virtual Tensor forward(const Tensor& x, const Tensor& padding_mask) = 0;
};

}  // namespace datamux
