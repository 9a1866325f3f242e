// Elementwise ops: broadcasting binary arithmetic, scalar arithmetic, unary maths and activations.
// Plain OpenMP loops: for these memory-bound ops they beat a oneDNN primitive's setup cost at our sizes.
#include <datamux/core/tensor_util.hpp>
#include <datamux/ops.hpp>

#include <cmath>

namespace datamux::ops {
namespace {

using detail::sum_to;

constexpr int64_t kParallelMin = 1 << 15;

enum class BinOp { Add, Sub, Mul, Div };

template <BinOp op>
inline float apply(float x, float y) {
  if constexpr (op == BinOp::Add) return x + y;
  if constexpr (op == BinOp::Sub) return x - y;
  if constexpr (op == BinOp::Mul) return x * y;
  return x / y;
}

// out = a (op) b where a and b are already expanded to out's shape (strides may be 0).
template <BinOp op>
void binary_kernel(const Tensor& a, const Tensor& b, Tensor& out) {
  const int64_t n = out.numel();
  float* o = out.data<float>();
  const float* pa = a.data<float>();
  const float* pb = b.data<float>();
  if (a.is_contiguous() && b.is_contiguous()) {
#pragma omp parallel for simd if (n > kParallelMin)
    for (int64_t i = 0; i < n; ++i) o[i] = apply<op>(pa[i], pb[i]);
    return;
  }
  const int64_t r = out.dim();
  const Shape& sh = out.shape();
  const int64_t inner = sh[r - 1];
  const int64_t sa = a.strides()[r - 1], sb = b.strides()[r - 1];
  const int64_t rows = n / std::max<int64_t>(inner, 1);
#pragma omp parallel for if (n > kParallelMin)
  for (int64_t row = 0; row < rows; ++row) {
    int64_t oa = 0, ob = 0, rem = row;
    for (int64_t k = r - 2; k >= 0; --k) {
      const int64_t i = rem % sh[k];
      rem /= sh[k];
      oa += i * a.strides()[k];
      ob += i * b.strides()[k];
    }
    const float* ra = pa + oa;
    const float* rb = pb + ob;
    float* ro = o + row * inner;
    if (sa == 1 && sb == 1) {
#pragma omp simd
      for (int64_t i = 0; i < inner; ++i) ro[i] = apply<op>(ra[i], rb[i]);
    } else if (sa == 1 && sb == 0) {
      const float y = rb[0];
#pragma omp simd
      for (int64_t i = 0; i < inner; ++i) ro[i] = apply<op>(ra[i], y);
    } else if (sa == 0 && sb == 1) {
      const float x = ra[0];
#pragma omp simd
      for (int64_t i = 0; i < inner; ++i) ro[i] = apply<op>(x, rb[i]);
    } else {
      for (int64_t i = 0; i < inner; ++i) ro[i] = apply<op>(ra[i * sa], rb[i * sb]);
    }
  }
}

template <BinOp op>
Tensor binary_forward(const Tensor& a, const Tensor& b, const char* name) {
  detail::check_f32(a, name, "a");
  detail::check_f32(b, name, "b");
  const Shape out_shape = detail::broadcast_shapes(a.shape(), b.shape(), name);
  Tensor out = Tensor::empty(out_shape);
  if (out.numel() == 0) return out;
  Tensor ea = a.shape() == out_shape ? a : a.detach().expand(out_shape);
  Tensor eb = b.shape() == out_shape ? b : b.detach().expand(out_shape);
  if (out.dim() == 0) {
    out.data<float>()[0] = apply<op>(a.data<float>()[0], b.data<float>()[0]);
  } else {
    binary_kernel<op>(ea, eb, out);
  }
  return out;
}

// Unary map with a derivative expressed through input x and output y.
template <class F>
Tensor unary_forward(const Tensor& x, const char* name, F f) {
  detail::check_f32(x, name, "x");
  Tensor scratch;
  const float* px = detail::contiguous_data(x, scratch);
  Tensor out = Tensor::empty(x.shape());
  float* o = out.data<float>();
  const int64_t n = x.numel();
#pragma omp parallel for simd if (n > kParallelMin)
  for (int64_t i = 0; i < n; ++i) o[i] = f(px[i]);
  return out;
}

// grad_in[i] = g[i] * d(x[i], y[i])
template <class D>
Tensor unary_backward(const Tensor& g, const Tensor& x, const Tensor& y, D d) {
  Tensor sg, sx, sy;
  const float* pg = detail::contiguous_data(g, sg);
  const float* px = x.defined() ? detail::contiguous_data(x, sx) : nullptr;
  const float* py = y.defined() ? detail::contiguous_data(y, sy) : nullptr;
  Tensor out = Tensor::empty(g.shape());
  float* o = out.data<float>();
  const int64_t n = g.numel();
#pragma omp parallel for simd if (n > kParallelMin)
  for (int64_t i = 0; i < n; ++i) o[i] = pg[i] * d(px ? px[i] : 0.f, py ? py[i] : 0.f);
  return out;
}

// Records a unary op whose derivative uses the input (kept) and/or the output (kept detached, so
// the graph holds no cycle through it).
template <class D>
void record_unary(Tensor& out, const Tensor& x, bool keep_x, bool keep_y, const char* name, D d) {
  if (!grad_enabled() || !x.requires_grad()) return;
  Tensor kx = keep_x ? x.detach() : Tensor();
  Tensor ky = keep_y ? out.detach() : Tensor();
  record(out, {x}, [x, kx, ky, d](const Tensor& g) { accumulate_grad(x, unary_backward(g, kx, ky, d)); }, name);
}

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward<BinOp::Add>(a, b, "add");
  record(out, {a, b},
         [a, b](const Tensor& g) {
           accumulate_grad(a, sum_to(g, a.shape()));
           accumulate_grad(b, sum_to(g, b.shape()));
         },
         "add");
  return out;
}

Tensor sub(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward<BinOp::Sub>(a, b, "sub");
  record(out, {a, b},
         [a, b](const Tensor& g) {
           accumulate_grad(a, sum_to(g, a.shape()));
           if (b.requires_grad()) accumulate_grad(b, sum_to(neg(g), b.shape()));
         },
         "sub");
  return out;
}

Tensor mul(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward<BinOp::Mul>(a, b, "mul");
  if (grad_enabled() && any_requires_grad({a, b})) {
    Tensor da = a.detach(), db = b.detach();
    record(out, {a, b},
           [a, b, da, db](const Tensor& g) {
             if (a.requires_grad()) accumulate_grad(a, sum_to(mul(g, db), a.shape()));
             if (b.requires_grad()) accumulate_grad(b, sum_to(mul(g, da), b.shape()));
           },
           "mul");
  }
  return out;
}

Tensor div(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward<BinOp::Div>(a, b, "div");
  if (grad_enabled() && any_requires_grad({a, b})) {
    Tensor db = b.detach(), dout = out.detach();
    record(out, {a, b},
           [a, b, db, dout](const Tensor& g) {
             Tensor ga = div(g, db);
             if (a.requires_grad()) accumulate_grad(a, sum_to(ga, a.shape()));
             // d(a/b)/db = -(a/b)/b
             if (b.requires_grad()) accumulate_grad(b, sum_to(neg(mul(ga, dout)), b.shape()));
           },
           "div");
  }
  return out;
}

Tensor add(const Tensor& a, float s) {
  Tensor out = unary_forward(a, "add_scalar", [s](float x) { return x + s; });
  record(out, {a}, [a](const Tensor& g) { accumulate_grad(a, g); }, "add_scalar");
  return out;
}

Tensor mul(const Tensor& a, float s) {
  Tensor out = unary_forward(a, "mul_scalar", [s](float x) { return x * s; });
  record(out, {a}, [a, s](const Tensor& g) { accumulate_grad(a, mul(g, s)); }, "mul_scalar");
  return out;
}

Tensor neg(const Tensor& a) { return mul(a, -1.f); }

Tensor square(const Tensor& x) {
  Tensor out = unary_forward(x, "square", [](float v) { return v * v; });
  record_unary(out, x, true, false, "square", [](float v, float) { return 2.f * v; });
  return out;
}

Tensor sqrt(const Tensor& x) {
  Tensor out = unary_forward(x, "sqrt", [](float v) { return std::sqrt(v); });
  record_unary(out, x, false, true, "sqrt", [](float, float y) { return 0.5f / y; });
  return out;
}

Tensor exp(const Tensor& x) {
  Tensor out = unary_forward(x, "exp", [](float v) { return std::exp(v); });
  record_unary(out, x, false, true, "exp", [](float, float y) { return y; });
  return out;
}

Tensor log(const Tensor& x) {
  Tensor out = unary_forward(x, "log", [](float v) { return std::log(v); });
  record_unary(out, x, true, false, "log", [](float v, float) { return 1.f / v; });
  return out;
}

Tensor relu(const Tensor& x) {
  Tensor out = unary_forward(x, "relu", [](float v) { return v > 0.f ? v : 0.f; });
  record_unary(out, x, true, false, "relu", [](float v, float) { return v > 0.f ? 1.f : 0.f; });
  return out;
}

Tensor tanh(const Tensor& x) {
  Tensor out = unary_forward(x, "tanh", [](float v) { return std::tanh(v); });
  record_unary(out, x, false, true, "tanh", [](float, float y) { return 1.f - y * y; });
  return out;
}

Tensor sigmoid(const Tensor& x) {
  Tensor out = unary_forward(x, "sigmoid", [](float v) { return 1.f / (1.f + std::exp(-v)); });
  record_unary(out, x, false, true, "sigmoid", [](float, float y) { return y * (1.f - y); });
  return out;
}

}  // namespace datamux::ops
