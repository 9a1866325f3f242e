// datamux/multiplexer.hpp - combines N inputs into one representation.
#pragma once

#include <datamux/module.hpp>

namespace datamux {

/// forward: [N, B, ...] -> [B, ...]. Axis 0 is the instance index. A fixed transform keeps its codes
/// as buffers (saved, not trained); a learned one registers them as parameters.
class DATAMUX_API Multiplexer : public Module {
 public:
  virtual Tensor forward(const Tensor& x) = 0;
  /// The same with each instance's padding: for token inputs x [N, B, T, d] the runtime passes mask
  /// f32 [N, B, T] (1 = token, 0 = padding; prefix positions a demux adds count as tokens); for other
  /// inputs it calls forward(x). A mux that mixes every position on its own needs no mask: the default
  /// ignores it. A mux that attends along the sequence (the contextual mux) overrides this so padded
  /// positions are not attended to. Added in SDK ABI 3; existing muxes compile unchanged.
  virtual Tensor forward_masked(const Tensor& x, const Tensor& mask) {
    (void)mask;
    return forward(x);
  }
};

}  // namespace datamux
