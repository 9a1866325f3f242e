// datamux/core/onednn_info.hpp - what oneDNN runs on this host, and a raw-oneDNN linear layer that
// benchmarks compare ops::linear with. No oneDNN types here (installed headers need no oneDNN).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace datamux {

/// e.g. "2.6.3".
std::string onednn_version();
/// The ISA oneDNN's JIT kernels dispatch to here, e.g. "avx512_core_bf16" or "avx2".
std::string onednn_effective_isa();

/// The floor for a linear layer: y = x W^T + b, dx = dy W, dW = dy^T x as three pre-built oneDNN
/// matmul primitives on pre-allocated buffers (f32, no autograd, no allocation per step).
class RawOneDnnLinear {
 public:
  RawOneDnnLinear(int64_t m, int64_t k, int64_t n);
  ~RawOneDnnLinear();
  RawOneDnnLinear(const RawOneDnnLinear&) = delete;
  RawOneDnnLinear& operator=(const RawOneDnnLinear&) = delete;
  void forward();
  void forward_backward();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace datamux
