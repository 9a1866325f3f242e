// activation.hpp - the nonlinearity a built-in backbone's `activation` option names ("relu", "gelu",
// "tanh"; the schema's choices guarantee one of them). Header-only: each plugin compiles its own copy.
#pragma once

#include <datamux/ops.hpp>
#include <string>

namespace datamux::plugin_util {

inline Tensor activate(const std::string& name, const Tensor& x) {
  if (name == "relu") return ops::relu(x);
  if (name == "gelu") return ops::gelu(x);
  return ops::tanh(x);
}

}  // namespace datamux::plugin_util
