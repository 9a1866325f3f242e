// datamux/multiplexer.hpp - combines N inputs into one representation.
#pragma once

#include <datamux/module.hpp>

namespace datamux {

/// forward: [N, B, ...] -> [B, ...]. Axis 0 is the instance index. A fixed transform keeps its codes
/// as buffers (saved, not trained); a learned one registers them as parameters.
class DATAMUX_API Multiplexer : public Module {
 public:
  virtual Tensor forward(const Tensor& x) = 0;
};

}  // namespace datamux
