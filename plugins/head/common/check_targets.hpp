// check_targets.hpp - the targets check every built-in head starts its forward pass with, so that
// a wrong layout is reported the same way by each. Header-only: each plugin compiles its own copy.
#pragma once

#include <datamux/tensor.hpp>
#include <stdexcept>
#include <string>

namespace datamux::plugin_util {

/// Throws std::invalid_argument "head '<head>': expected i32 targets <shape> (<what>), got ..."
/// unless `targets` is i32 with shape `expected`.
inline void check_targets(const std::string& head, const Tensor& targets, const Shape& expected,
                          const std::string& what) {
  if (targets.defined() && targets.dtype() == DType::i32 && targets.shape() == expected) return;
  const std::string got = targets.defined()
                              ? std::string(dtype_name(targets.dtype())) + " " + shape_str(targets.shape())
                              : std::string("none");
  throw std::invalid_argument("head '" + head + "': expected i32 targets " + shape_str(expected) + " (" + what +
                              "), got " + got);
}

}  // namespace datamux::plugin_util
