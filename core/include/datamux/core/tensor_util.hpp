// datamux/core/tensor_util.hpp - helpers shared by op implementations (not part of the SDK).
#pragma once

#include <datamux/tensor.hpp>

#include <stdexcept>
#include <string>

namespace datamux::detail {

/// Normalises a possibly negative dim against rank; throws std::invalid_argument naming `op`.
int64_t wrap_dim(int64_t d, int64_t rank, const char* op);
/// NumPy broadcast of two shapes; throws naming `op` and both shapes.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);
/// Sums g (shape broadcast from `shape`) back down to `shape`: the gradient of a broadcast.
Tensor sum_to(const Tensor& g, const Shape& shape);
/// Copies any strided f32/i32 view into contiguous dst memory (same numel).
void copy_strided(const Tensor& src, void* dst);
/// f32 pointer to contiguous data: `t` itself if contiguous, else `scratch` = t.contiguous().
const float* contiguous_data(const Tensor& t, Tensor& scratch);
/// Throws std::invalid_argument unless t is defined and f32.
void check_f32(const Tensor& t, const char* op, const char* arg);

}  // namespace datamux::detail
