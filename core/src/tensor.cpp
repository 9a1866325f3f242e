// Tensor: factories, metadata, views and their gradients, conversion and printing.
#include <datamux/core/tensor_util.hpp>
#include <datamux/ops.hpp>
#include <datamux/tensor.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <stdexcept>

namespace datamux {

const char* dtype_name(DType t) {
  switch (t) {
    case DType::f32: return "f32";
    case DType::i32: return "i32";
    case DType::bf16: return "bf16";
  }
  return "?";
}

std::size_t dtype_size(DType t) { return t == DType::bf16 ? 2 : 4; }

std::string shape_str(const Shape& shape) { return fmt::format("[{}]", fmt::join(shape, ", ")); }

int64_t shape_numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  return n;
}

Shape contiguous_strides(const Shape& shape) {
  Shape st(shape.size());
  int64_t s = 1;
  for (int64_t i = static_cast<int64_t>(shape.size()) - 1; i >= 0; --i) {
    st[i] = s;
    s *= shape[i];
  }
  return st;
}

namespace {

uint16_t f32_to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40);  // NaN stays NaN
  u += 0x7fffu + ((u >> 16) & 1u);  // round to nearest even
  return static_cast<uint16_t>(u >> 16);
}

float bf16_to_f32(uint16_t h) {
  uint32_t u = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

Tensor make_view(const Tensor& base, Shape shape, Shape strides, int64_t offset) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = base.impl()->storage;
  impl->offset = offset;
  impl->shape = std::move(shape);
  impl->strides = std::move(strides);
  impl->dtype = base.dtype();
  return Tensor(impl);
}

void check_defined(const Tensor& t, const char* what) {
  if (!t.defined()) throw std::invalid_argument(fmt::format("{}: tensor is undefined", what));
}

}  // namespace

// ---------------------------------------------------------------- factories

Tensor Tensor::empty(const Shape& shape, DType dtype) {
  for (int64_t s : shape)
    if (s < 0) throw std::invalid_argument("Tensor::empty: negative size in shape " + shape_str(shape));
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::make_shared<Storage>(static_cast<std::size_t>(shape_numel(shape)) * dtype_size(dtype));
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = dtype;
  return Tensor(impl);
}

Tensor Tensor::zeros(const Shape& shape, DType dtype) {
  Tensor t = empty(shape, dtype);
  std::memset(t.impl()->storage->data, 0, static_cast<std::size_t>(t.numel()) * dtype_size(dtype));
  return t;
}

Tensor Tensor::ones(const Shape& shape) { return full(shape, 1.f); }

Tensor Tensor::full(const Shape& shape, float value) {
  Tensor t = empty(shape);
  t.fill_(value);
  return t;
}

Tensor Tensor::from_vector(const std::vector<float>& values, const Shape& shape) {
  if (static_cast<int64_t>(values.size()) != shape_numel(shape))
    throw std::invalid_argument(fmt::format("Tensor::from_vector: {} values for shape {}", values.size(), shape_str(shape)));
  Tensor t = empty(shape);
  std::copy(values.begin(), values.end(), t.data<float>());
  return t;
}

Tensor Tensor::from_ints(const std::vector<int32_t>& values, const Shape& shape) {
  if (static_cast<int64_t>(values.size()) != shape_numel(shape))
    throw std::invalid_argument(fmt::format("Tensor::from_ints: {} values for shape {}", values.size(), shape_str(shape)));
  Tensor t = empty(shape, DType::i32);
  std::copy(values.begin(), values.end(), t.data<int32_t>());
  return t;
}

Tensor Tensor::scalar(float value) { return full({}, value); }

Tensor Tensor::arange(int64_t n) {
  Tensor t = empty({n});
  float* p = t.data<float>();
  for (int64_t i = 0; i < n; ++i) p[i] = static_cast<float>(i);
  return t;
}

Tensor Tensor::randn(const Shape& shape, Rng& rng, float mean, float stddev) {
  Tensor t = empty(shape);
  float* p = t.data<float>();
  for (int64_t i = 0, n = t.numel(); i < n; ++i) p[i] = rng.normal(mean, stddev);
  return t;
}

Tensor Tensor::uniform(const Shape& shape, Rng& rng, float lo, float hi) {
  Tensor t = empty(shape);
  float* p = t.data<float>();
  for (int64_t i = 0, n = t.numel(); i < n; ++i) p[i] = rng.uniform(lo, hi);
  return t;
}

namespace {
std::pair<int64_t, int64_t> fans(const Shape& shape) {
  if (shape.size() < 2) throw std::invalid_argument("weight init needs at least 2 dims, got " + shape_str(shape));
  int64_t receptive = 1;
  for (std::size_t i = 2; i < shape.size(); ++i) receptive *= shape[i];
  return {shape[1] * receptive, shape[0] * receptive};
}
}  // namespace

Tensor Tensor::kaiming_uniform(const Shape& shape, Rng& rng) {
  auto [fan_in, fan_out] = fans(shape);
  (void)fan_out;
  // torch.nn.Linear: kaiming_uniform_(a=sqrt(5)) gives bound = 1/sqrt(fan_in).
  float a = 1.f / std::sqrt(static_cast<float>(fan_in));
  return uniform(shape, rng, -a, a);
}

// ---------------------------------------------------------------- metadata

const Shape& Tensor::shape() const {
  check_defined(*this, "shape");
  return impl_->shape;
}
const Shape& Tensor::strides() const {
  check_defined(*this, "strides");
  return impl_->strides;
}
int64_t Tensor::size(int64_t d) const {
  if (dim() == 0) throw std::invalid_argument(fmt::format("size: dim {} of a 0-dim tensor (it has no dims)", d));
  return shape()[detail::wrap_dim(d, dim(), "size")];
}
int64_t Tensor::numel() const { return shape_numel(shape()); }
DType Tensor::dtype() const {
  check_defined(*this, "dtype");
  return impl_->dtype;
}
int64_t Tensor::offset() const { return impl_->offset; }

bool Tensor::is_contiguous() const {
  const Shape& sh = shape();
  int64_t expected = 1;
  for (int64_t i = static_cast<int64_t>(sh.size()) - 1; i >= 0; --i) {
    if (sh[i] != 1 && impl_->strides[i] != expected) return false;
    expected *= sh[i];
  }
  return true;
}

template <class T>
T* Tensor::data() {
  check_defined(*this, "data");
  return static_cast<T*>(impl_->storage->data) + impl_->offset;
}
template <class T>
const T* Tensor::data() const {
  check_defined(*this, "data");
  return static_cast<const T*>(impl_->storage->data) + impl_->offset;
}
template float* Tensor::data<float>();
template const float* Tensor::data<float>() const;
template int32_t* Tensor::data<int32_t>();
template const int32_t* Tensor::data<int32_t>() const;
template uint16_t* Tensor::data<uint16_t>();
template const uint16_t* Tensor::data<uint16_t>() const;

float Tensor::at(const std::vector<int64_t>& index) const {
  if (static_cast<int64_t>(index.size()) != dim())
    throw std::invalid_argument(fmt::format("at: {} indices for shape {}", index.size(), shape_str(shape())));
  int64_t off = 0;
  for (std::size_t i = 0; i < index.size(); ++i) {
    if (index[i] < 0 || index[i] >= impl_->shape[i])
      throw std::out_of_range(fmt::format("at: index {} out of range for shape {}", index[i], shape_str(shape())));
    off += index[i] * impl_->strides[i];
  }
  switch (dtype()) {
    case DType::f32: return data<float>()[off];
    case DType::i32: return static_cast<float>(data<int32_t>()[off]);
    case DType::bf16: return bf16_to_f32(data<uint16_t>()[off]);
  }
  return 0.f;
}

float Tensor::item() const {
  if (numel() != 1) throw std::invalid_argument("item: tensor has " + std::to_string(numel()) + " elements, not 1");
  return at(std::vector<int64_t>(shape().size(), 0));
}

std::vector<float> Tensor::to_vector() const {
  Tensor c = to(DType::f32).contiguous();
  return std::vector<float>(c.data<float>(), c.data<float>() + c.numel());
}

std::vector<int32_t> Tensor::to_ints() const {
  if (dtype() != DType::i32) throw std::invalid_argument("to_ints: tensor is not i32");
  Tensor c = contiguous();
  return std::vector<int32_t>(c.data<int32_t>(), c.data<int32_t>() + c.numel());
}

// ---------------------------------------------------------------- views

Tensor Tensor::reshape(const Shape& new_shape_in) const {
  Shape new_shape = new_shape_in;
  int64_t infer = -1, known = 1;
  for (std::size_t i = 0; i < new_shape.size(); ++i) {
    if (new_shape[i] == -1) {
      if (infer >= 0) throw std::invalid_argument("reshape: more than one -1 in " + shape_str(new_shape_in));
      infer = static_cast<int64_t>(i);
    } else {
      known *= new_shape[i];
    }
  }
  if (infer >= 0) new_shape[infer] = known == 0 ? 0 : numel() / known;
  if (shape_numel(new_shape) != numel())
    throw std::invalid_argument(fmt::format("reshape: cannot view {} as {}", shape_str(shape()), shape_str(new_shape_in)));
  Tensor src = is_contiguous() ? *this : contiguous();
  Tensor out = make_view(src, new_shape, contiguous_strides(new_shape), src.offset());
  Shape old_shape = shape();
  record(out, {src}, [src, old_shape](const Tensor& g) { accumulate_grad(src, g.reshape(old_shape)); }, "reshape");
  return out;
}

Tensor Tensor::permute(const std::vector<int64_t>& order) const {
  const int64_t r = dim();
  if (static_cast<int64_t>(order.size()) != r)
    throw std::invalid_argument(fmt::format("permute: order of {} dims for shape {}", order.size(), shape_str(shape())));
  Shape sh(r), st(r);
  std::vector<int64_t> inverse(r, -1);
  for (int64_t i = 0; i < r; ++i) {
    int64_t d = detail::wrap_dim(order[i], r, "permute");
    if (inverse[d] != -1) throw std::invalid_argument("permute: repeated dim in order");
    inverse[d] = i;
    sh[i] = impl_->shape[d];
    st[i] = impl_->strides[d];
  }
  Tensor out = make_view(*this, sh, st, offset());
  Tensor self = *this;
  record(out, {self}, [self, inverse](const Tensor& g) { accumulate_grad(self, g.permute(inverse)); }, "permute");
  return out;
}

Tensor Tensor::transpose(int64_t a, int64_t b) const {
  std::vector<int64_t> order(dim());
  std::iota(order.begin(), order.end(), 0);
  const int64_t ia = detail::wrap_dim(a, dim(), "transpose"), ib = detail::wrap_dim(b, dim(), "transpose");
  if (dim() > 0) std::swap(order[ia], order[ib]);  // a 0-dim tensor accepts dim 0 / -1 and stays as it is
  return permute(order);
}

Tensor Tensor::slice(int64_t d_in, int64_t start, int64_t end) const {
  if (dim() == 0) throw std::invalid_argument("slice: cannot slice a 0-dim tensor");
  const int64_t d = detail::wrap_dim(d_in, dim(), "slice");
  const int64_t n = impl_->shape[d];
  if (start < 0) start += n;
  if (end < 0) end += n;
  start = std::clamp<int64_t>(start, 0, n);
  end = std::clamp<int64_t>(end, start, n);
  Shape sh = impl_->shape;
  sh[d] = end - start;
  Tensor out = make_view(*this, sh, impl_->strides, offset() + start * impl_->strides[d]);
  Tensor self = *this;
  record(out, {self},
         [self, d, start, end](const Tensor& g) {
           Tensor full = Tensor::zeros(self.shape());
           full.slice(d, start, end).copy_(g);
           accumulate_grad(self, full);
         },
         "slice");
  return out;
}

Tensor Tensor::select(int64_t d_in, int64_t index) const {
  if (dim() == 0) throw std::invalid_argument("select: cannot select from a 0-dim tensor");
  const int64_t d = detail::wrap_dim(d_in, dim(), "select");
  if (index < 0) index += impl_->shape[d];
  if (index < 0 || index >= impl_->shape[d])
    throw std::out_of_range(fmt::format("select: index {} out of range for dim {} of {}", index, d, shape_str(shape())));
  return slice(d, index, index + 1).squeeze(d);
}

Tensor Tensor::expand(const Shape& target) const {
  const int64_t r = static_cast<int64_t>(target.size());
  if (r < dim()) throw std::invalid_argument(fmt::format("expand: {} to fewer dims {}", shape_str(shape()), shape_str(target)));
  Shape st(r, 0), sh(r);
  for (int64_t i = r - 1, j = dim() - 1; i >= 0; --i, --j) {
    int64_t want = target[i];
    if (j >= 0) {
      int64_t have = impl_->shape[j];
      if (want == -1) want = have;
      if (have == want) {
        st[i] = impl_->strides[j];
      } else if (have == 1) {
        st[i] = 0;
      } else {
        throw std::invalid_argument(fmt::format("expand: cannot expand {} to {}", shape_str(shape()), shape_str(target)));
      }
    }
    sh[i] = want;
  }
  Tensor out = make_view(*this, sh, st, offset());
  Tensor self = *this;
  record(out, {self}, [self](const Tensor& g) { accumulate_grad(self, detail::sum_to(g, self.shape())); }, "expand");
  return out;
}

Tensor Tensor::unsqueeze(int64_t d_in) const {
  const int64_t d = detail::wrap_dim(d_in, dim() + 1, "unsqueeze");
  Shape sh = shape();
  sh.insert(sh.begin() + d, 1);
  return reshape(sh);
}

Tensor Tensor::squeeze(int64_t d_in) const {
  const int64_t d = detail::wrap_dim(d_in, dim(), "squeeze");
  if (dim() == 0 || impl_->shape[d] != 1) return *this;
  Shape sh = shape(), st = strides();
  sh.erase(sh.begin() + d);
  st.erase(st.begin() + d);
  Tensor out = make_view(*this, sh, st, offset());
  Tensor self = *this;
  Shape old = shape();
  record(out, {self}, [self, old](const Tensor& g) { accumulate_grad(self, g.reshape(old)); }, "squeeze");
  return out;
}

Tensor Tensor::flatten(int64_t start_dim, int64_t end_dim) const {
  if (dim() == 0) return reshape({1});
  const int64_t s = detail::wrap_dim(start_dim, dim(), "flatten");
  const int64_t e = detail::wrap_dim(end_dim, dim(), "flatten");
  Shape sh(shape().begin(), shape().begin() + s);
  int64_t m = 1;
  for (int64_t i = s; i <= e; ++i) m *= shape()[i];
  sh.push_back(m);
  sh.insert(sh.end(), shape().begin() + e + 1, shape().end());
  return reshape(sh);
}

Tensor Tensor::contiguous() const {
  if (is_contiguous()) return *this;
  return clone();
}

Tensor Tensor::clone() const {
  Tensor out = Tensor::empty(shape(), dtype());
  detail::copy_strided(*this, out.impl()->storage->data);
  Tensor self = *this;
  record(out, {self}, [self](const Tensor& g) { accumulate_grad(self, g); }, "clone");
  return out;
}

Tensor Tensor::to(DType target) const {
  if (target == dtype()) return *this;
  Tensor src = contiguous();
  Tensor out = Tensor::empty(shape(), target);
  const int64_t n = numel();
  auto get = [&](int64_t i) -> float {
    switch (src.dtype()) {
      case DType::f32: return src.data<float>()[i];
      case DType::i32: return static_cast<float>(src.data<int32_t>()[i]);
      case DType::bf16: return bf16_to_f32(src.data<uint16_t>()[i]);
    }
    return 0.f;
  };
#pragma omp parallel for if (n > (1 << 16))
  for (int64_t i = 0; i < n; ++i) {
    float v = get(i);
    switch (target) {
      case DType::f32: out.data<float>()[i] = v; break;
      case DType::i32: out.data<int32_t>()[i] = static_cast<int32_t>(std::lround(v)); break;
      case DType::bf16: out.data<uint16_t>()[i] = f32_to_bf16(v); break;
    }
  }
  return out;
}

// ---------------------------------------------------------------- in place

void Tensor::fill_(float value) {
  const int64_t n = numel();
  if (!is_contiguous()) {
    copy_(Tensor::full(shape(), value).to(dtype()));
    return;
  }
  if (dtype() == DType::f32) {
    std::fill_n(data<float>(), n, value);
  } else if (dtype() == DType::i32) {
    std::fill_n(data<int32_t>(), n, static_cast<int32_t>(value));
  } else {
    std::fill_n(data<uint16_t>(), n, f32_to_bf16(value));
  }
}

void Tensor::copy_(const Tensor& src_in) {
  if (src_in.dtype() != dtype())
    throw std::invalid_argument(fmt::format("copy_: dtype {} into {}", dtype_name(src_in.dtype()), dtype_name(dtype())));
  Tensor src = src_in.shape() == shape() ? src_in : src_in.detach().expand(shape());
  const std::size_t es = dtype_size(dtype());
  char* d = static_cast<char*>(impl_->storage->data) + offset() * es;  // element offset in bytes of this dtype
  if (is_contiguous()) {
    detail::copy_strided(src, d);
    return;
  }
  // Strided destination: walk both with the same multi-index.
  Tensor csrc = src.contiguous();
  const char* s = static_cast<const char*>(csrc.impl()->storage->data) + csrc.offset() * es;
  const int64_t r = dim(), n = numel();
  std::vector<int64_t> idx(r, 0);
  for (int64_t i = 0; i < n; ++i) {
    int64_t off = 0;
    for (int64_t k = 0; k < r; ++k) off += idx[k] * impl_->strides[k];
    std::memcpy(d + off * static_cast<int64_t>(es), s + i * static_cast<int64_t>(es), es);
    for (int64_t k = r - 1; k >= 0; --k) {
      if (++idx[k] < impl_->shape[k]) break;
      idx[k] = 0;
    }
  }
}

// ---------------------------------------------------------------- printing

std::string Tensor::to_string(int64_t max_per_dim) const {
  if (!defined()) return "Tensor(undefined)";
  std::string s = fmt::format("Tensor({}, {}", shape_str(shape()), dtype_name(dtype()));
  if (requires_grad()) s += ", requires_grad";
  s += ")\n";
  if (dim() == 0) return s + fmt::format("{:.6g}", item());
  std::vector<int64_t> idx(dim(), 0);
  std::function<void(int64_t, int)> rec = [&](int64_t d, int indent) {
    s += "[";
    const int64_t n = shape()[d];
    for (int64_t i = 0; i < n; ++i) {
      if (n > max_per_dim && i == max_per_dim / 2) {
        s += "..., ";
        i = n - max_per_dim / 2;
      }
      idx[d] = i;
      if (d + 1 == dim()) {
        s += fmt::format("{:.4g}", at(idx));
      } else {
        rec(d + 1, indent + 1);
      }
      if (i + 1 < n) s += d + 1 == dim() ? ", " : ",\n" + std::string(indent + 1, ' ');
    }
    s += "]";
  };
  rec(0, 0);
  return s;
}

}  // namespace datamux
