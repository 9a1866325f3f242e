// Helpers shared by the op implementations: dims, broadcasting, strided copies.
#include <datamux/core/tensor_util.hpp>
#include <datamux/ops.hpp>

#include <fmt/format.h>

#include <cstring>

namespace datamux::detail {

int64_t wrap_dim(int64_t d, int64_t rank, const char* op) {
  const int64_t r = rank == 0 ? 1 : rank;
  if (d < -r || d >= r) throw std::invalid_argument(fmt::format("{}: dim {} out of range for rank {}", op, d, rank));
  return d < 0 ? d + r : d;
}

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  const std::size_t r = std::max(a.size(), b.size());
  Shape out(r);
  for (std::size_t i = 0; i < r; ++i) {
    int64_t x = i < r - a.size() ? 1 : a[i - (r - a.size())];
    int64_t y = i < r - b.size() ? 1 : b[i - (r - b.size())];
    if (x != y && x != 1 && y != 1)
      throw std::invalid_argument(fmt::format("{}: shapes {} and {} do not broadcast", op, shape_str(a), shape_str(b)));
    out[i] = x == 1 ? y : x;
  }
  return out;
}

Tensor sum_to(const Tensor& g, const Shape& shape) {
  if (g.shape() == shape) return g;
  const int64_t lead = g.dim() - static_cast<int64_t>(shape.size());
  std::vector<int64_t> dims;
  for (int64_t i = 0; i < g.dim(); ++i) {
    if (i < lead || (shape[i - lead] == 1 && g.shape()[i] != 1)) dims.push_back(i);
  }
  Tensor s = dims.empty() ? g : ops::sum(g, dims, true);
  return s.reshape(shape);
}

void copy_strided(const Tensor& src, void* dst_v) {
  const int64_t n = src.numel();
  const std::size_t es = dtype_size(src.dtype());
  const char* base = static_cast<const char*>(src.impl()->storage->data) + src.offset() * es;
  char* dst = static_cast<char*>(dst_v);
  if (src.is_contiguous()) {
    std::memcpy(dst, base, static_cast<std::size_t>(n) * es);
    return;
  }
  const Shape& sh = src.shape();
  const Shape& st = src.strides();
  const int64_t r = src.dim();
  const int64_t inner = sh[r - 1], inner_stride = st[r - 1];
  const int64_t rows = n / std::max<int64_t>(inner, 1);
#pragma omp parallel for if (n > (1 << 16))
  for (int64_t row = 0; row < rows; ++row) {
    int64_t off = 0, rem = row;
    for (int64_t k = r - 2; k >= 0; --k) {
      off += (rem % sh[k]) * st[k];
      rem /= sh[k];
    }
    char* d = dst + row * inner * es;
    if (es == 4) {
      const float* s = reinterpret_cast<const float*>(base) + off;
      float* df = reinterpret_cast<float*>(d);
      for (int64_t i = 0; i < inner; ++i) df[i] = s[i * inner_stride];
    } else {
      const uint16_t* s = reinterpret_cast<const uint16_t*>(base) + off;
      uint16_t* dh = reinterpret_cast<uint16_t*>(d);
      for (int64_t i = 0; i < inner; ++i) dh[i] = s[i * inner_stride];
    }
  }
}

const float* contiguous_data(const Tensor& t, Tensor& scratch) {
  if (t.is_contiguous()) return t.data<float>();
  scratch = t.detach().contiguous();
  return scratch.data<float>();
}

void check_f32(const Tensor& t, const char* op, const char* arg) {
  if (!t.defined()) throw std::invalid_argument(fmt::format("{}: {} is undefined", op, arg));
  if (t.dtype() != DType::f32)
    throw std::invalid_argument(fmt::format("{}: {} must be f32, got {}", op, arg, dtype_name(t.dtype())));
}

}  // namespace datamux::detail
