// ops::matmul and ops::linear on cached oneDNN matmul primitives (see core/matmul_kernel.hpp).
//
// oneDNN 2.6 has no matmul backward, so gradients are forward matmuls on transposed views:
// dA = dC op(B)^T and dB = op(A)^T dC, summed over the batch dims an operand was broadcast along.
// With set_matmul_precision(bf16) on a CPU with fast bf16, inputs are rounded to bf16 by a cached oneDNN
// reorder (linear converts x and W once and reuses them in backward) and accumulated in f32.
#include <datamux/core/cpu_features.hpp>
#include <datamux/core/dnnl_context.hpp>
#include <datamux/core/matmul_kernel.hpp>
#include <datamux/core/tensor_util.hpp>
#include <datamux/ops.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <utility>

namespace datamux {
namespace {
std::atomic<MatmulPrecision> g_precision{MatmulPrecision::f32};
}

void set_matmul_precision(MatmulPrecision p) { g_precision.store(p); }
MatmulPrecision matmul_precision() { return g_precision.load(); }
MatmulPrecision effective_matmul_precision() {
  return matmul_precision() == MatmulPrecision::bf16 && bf16_matmul_is_fast() ? MatmulPrecision::bf16
                                                                              : MatmulPrecision::f32;
}

}  // namespace datamux

namespace datamux::detail {
namespace {

using dnnl::memory;
using dnnl_ctx::to_dims;

// One matmul operand as oneDNN sees it: rank-r dims and strides (matrix dims last, already transposed
// when requested) over the data of `keep`.
struct Operand {
  Tensor keep;
  Shape dims;
  Shape strides;
};

Operand make_operand(const Tensor& t, bool trans, int64_t rank) {
  Operand op{t, t.shape(), t.strides()};
  const int64_t r = t.dim();
  if (trans) {
    std::swap(op.dims[r - 1], op.dims[r - 2]);
    std::swap(op.strides[r - 1], op.strides[r - 2]);
  }
  op.dims.insert(op.dims.begin(), rank - r, 1);
  op.strides.insert(op.strides.begin(), rank - r, 0);
  return op;
}

// Rewrites strides oneDNN's fast kernels accept: a matrix in row- or column-major order with a leading
// dimension at least its width (else false: the caller copies), stride-0 batch dims as broadcast size-1
// dims, size-1 dims with the stride a dense layout would give them.
bool normalize(Operand& op) {
  const int64_t r = static_cast<int64_t>(op.dims.size());
  const int64_t rows = op.dims[r - 2], cols = op.dims[r - 1];
  int64_t& sr = op.strides[r - 2];
  int64_t& sc = op.strides[r - 1];
  if (rows == 1 && cols == 1) {
    sr = 1, sc = 1;
  } else if (cols == 1) {
    sc = 1;
    if (sr < 1) return false;
  } else if (rows == 1) {
    if (sc == 1) {
      sr = cols;
    } else if (sc >= 1) {
      sr = 1;
    } else {
      return false;
    }
  } else {
    const bool row_major = sc == 1 && sr >= cols;
    const bool col_major = sr == 1 && sc >= rows;
    if (!row_major && !col_major) return false;
  }
  int64_t span = std::max(sr * (rows - 1) + sc * (cols - 1) + 1, int64_t{1});
  for (int64_t i = r - 3; i >= 0; --i) {
    if (op.strides[i] == 0) op.dims[i] = 1;
    if (op.dims[i] == 1) op.strides[i] = span;
    if (op.strides[i] < 0) return false;
    span = std::max(span, op.strides[i] * (op.dims[i] - 1) + span);
  }
  return true;
}

Operand contiguous_operand(const Tensor& t, bool trans, int64_t rank) {
  Tensor c = (trans ? t.transpose(-1, -2) : t).contiguous();
  Operand op = make_operand(c, false, rank);
  normalize(op);
  return op;
}

// Folds the batch dims of a row-major `a` into its rows when `b` has no batch: [.., M, K] -> [B*M, K].
bool fold_batch_into_rows(Operand& a, const Operand& b) {
  const int64_t r = static_cast<int64_t>(a.dims.size());
  if (r == 2) return false;
  for (int64_t i = 0; i < r - 2; ++i)
    if (b.dims[i] != 1) return false;
  if (a.strides[r - 1] != 1) return false;
  const int64_t lda = a.strides[r - 2];
  int64_t rows = a.dims[r - 2], expected = lda * rows;
  for (int64_t i = r - 3; i >= 0; --i) {
    if (a.dims[i] == 1) continue;
    if (a.strides[i] != expected) return false;
    rows *= a.dims[i];
    expected *= a.dims[i];
  }
  a.dims = {rows, a.dims[r - 1]};
  a.strides = {lda, 1};
  return true;
}

struct MatmulEntry {
  dnnl::matmul::primitive_desc pd;
  dnnl::matmul prim;
  bool reference = false;
};

memory::data_type dnnl_type(DType t) { return t == DType::bf16 ? memory::data_type::bf16 : memory::data_type::f32; }

std::shared_ptr<const MatmulEntry> get_matmul(const Operand& a, const Operand& b, const Shape& dst_dims, bool with_bias,
                                              bool with_scale, MatmulPostOps::Act act, bool with_residual) {
  const DType dt = a.keep.dtype();
  dnnl_ctx::PrimitiveKey key("matmul");
  key.add(a.dims).add(a.strides).add(b.dims).add(b.strides).add(dst_dims);
  key.add(static_cast<int64_t>(dt)).add(with_bias ? 1 : 0).add(with_scale ? 1 : 0);
  key.add(static_cast<int64_t>(act)).add(with_residual ? 1 : 0);
  return dnnl_ctx::cached_primitive<MatmulEntry>(key, [&] {
    const memory::desc a_md(to_dims(a.dims), dnnl_type(dt), to_dims(a.strides));
    const memory::desc b_md(to_dims(b.dims), dnnl_type(dt), to_dims(b.strides));
    const memory::desc c_md(to_dims(dst_dims), memory::data_type::f32, to_dims(contiguous_strides(dst_dims)));
    dnnl::primitive_attr attr;
    // Our own scratchpad per call (from the caching allocator): oneDNN's library-owned scratchpad is
    // shared, which made concurrent executions of one cached primitive from several threads race.
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    if (with_scale) attr.set_output_scales(0, {DNNL_RUNTIME_F32_VAL});
    if (act != MatmulPostOps::Act::none || with_residual) {
      dnnl::post_ops po;
      if (act == MatmulPostOps::Act::gelu) po.append_eltwise(1.f, dnnl::algorithm::eltwise_gelu_erf, 0.f, 0.f);
      if (act == MatmulPostOps::Act::relu) po.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
      if (with_residual) po.append_binary(dnnl::algorithm::binary_add, c_md);
      attr.set_post_ops(po);
    }
    dnnl::matmul::primitive_desc pd = [&] {
      if (!with_bias) return dnnl::matmul::primitive_desc(dnnl::matmul::desc(a_md, b_md, c_md), attr, dnnl_ctx::cpu_engine());
      Shape bias_dims(dst_dims.size(), 1);
      bias_dims.back() = dst_dims.back();
      const memory::desc bias_md(to_dims(bias_dims), memory::data_type::f32, to_dims(contiguous_strides(bias_dims)));
      return dnnl::matmul::primitive_desc(dnnl::matmul::desc(a_md, b_md, bias_md, c_md), attr, dnnl_ctx::cpu_engine());
    }();
    return MatmulEntry{pd, dnnl::matmul(pd), dnnl_ctx::is_reference_impl(pd)};
  });
}

void check_operand(const Tensor& t, const char* name) {
  if (!t.defined()) throw std::invalid_argument(fmt::format("matmul: {} is undefined", name));
  if (t.dtype() != DType::f32 && t.dtype() != DType::bf16)
    throw std::invalid_argument(fmt::format("matmul: {} must be f32 or bf16, got {}", name, dtype_name(t.dtype())));
  if (t.dim() < 2)
    throw std::invalid_argument(fmt::format("matmul: {} must have at least 2 dims ([..., rows, cols]), got shape {}; "
                                            "unsqueeze a vector first",
                                            name, shape_str(t.shape())));
}

struct ReorderEntry {
  memory::desc from, to;
  std::optional<dnnl::reorder> prim;  // none when oneDNN cannot read these strides
};

}  // namespace

Tensor to_bf16(const Tensor& t) {
  if (t.dtype() == DType::bf16) return t;
  check_f32(t, "to_bf16", "t");
  Tensor out = Tensor::empty(t.shape(), DType::bf16);
  if (t.numel() == 0) return out;
  if (t.dim() == 0) return t.to(DType::bf16);
  dnnl_ctx::PrimitiveKey key("reorder_f32_bf16");
  key.add(t.shape()).add(t.strides());
  auto entry = dnnl_ctx::cached_primitive<ReorderEntry>(key, [&] {
    const dnnl::engine& eng = dnnl_ctx::cpu_engine();
    const memory::desc from(to_dims(t.shape()), memory::data_type::f32, to_dims(t.strides()));
    const memory::desc to(to_dims(t.shape()), memory::data_type::bf16, to_dims(contiguous_strides(t.shape())));
    try {
      return ReorderEntry{from, to, dnnl::reorder(dnnl::reorder::primitive_desc(eng, from, eng, to))};
    } catch (const dnnl::error&) {
      return ReorderEntry{from, to, std::nullopt};
    }
  });
  if (!entry->prim) return t.contiguous().to(DType::bf16);
  const dnnl::engine& eng = dnnl_ctx::cpu_engine();
  memory from(entry->from, eng, const_cast<float*>(t.data<float>()));
  memory to(entry->to, eng, out.data<uint16_t>());
  dnnl::stream& s = dnnl_ctx::cpu_stream();
  entry->prim->execute(s, from, to);
  s.wait();
  return out;
}

namespace {

// The operands as the kernel multiplies them: bf16 under bf16 precision, else one common dtype.
std::pair<Tensor, Tensor> kernel_operands(const Tensor& a_in, const Tensor& b_in) {
  Tensor a_t = a_in.detach(), b_t = b_in.detach();
  if (effective_matmul_precision() == MatmulPrecision::bf16) {
    a_t = to_bf16(a_t);
    b_t = to_bf16(b_t);
  } else if (a_t.dtype() != b_t.dtype()) {
    a_t = a_t.to(DType::f32);
    b_t = b_t.to(DType::f32);
  }
  return {a_t, b_t};
}

// [broadcast batch..., M, N]; throws when the inner dims differ.
Shape dst_shape(const Operand& a, const Operand& b, int64_t rank, const Tensor& a_in, const Tensor& b_in, bool trans_a,
                bool trans_b) {
  const int64_t m = a.dims[rank - 2], k = a.dims[rank - 1], n = b.dims[rank - 1];
  if (b.dims[rank - 2] != k)
    throw std::invalid_argument(fmt::format("matmul: inner dims differ: a{} {} x b{} {} (K = {} vs {})",
                                            trans_a ? "^T" : "", shape_str(a_in.shape()), trans_b ? "^T" : "",
                                            shape_str(b_in.shape()), k, b.dims[rank - 2]));
  Shape a_batch(a.dims.begin(), a.dims.end() - 2), b_batch(b.dims.begin(), b.dims.end() - 2);
  Shape dst_dims = broadcast_shapes(a_batch, b_batch, "matmul (batch dims)");
  dst_dims.push_back(m);
  dst_dims.push_back(n);
  return dst_dims;
}

// An empty inner dimension: the product is the bias alone (or zeros).
Tensor fill_empty_product(Tensor dst, const float* bias, int64_t n, const MatmulPostOps& post) {
  if (post.act != MatmulPostOps::Act::none || post.residual)
    throw std::invalid_argument("matmul: post-ops need a non-empty inner dimension");
  float* d = dst.data<float>();
  for (int64_t i = 0; i < dst.numel(); ++i) d[i] = bias ? bias[i % n] : 0.f;
  return dst;
}

// Brings a and b into layouts the fast kernels take; returns the dims the primitive computes.
Shape prepare_layouts(Operand& a, Operand& b, const Tensor& a_t, const Tensor& b_t, bool trans_a, bool trans_b,
                      int64_t rank, const Shape& dst_dims) {
  if (!normalize(a)) a = contiguous_operand(a_t, trans_a, rank);
  if (!normalize(b)) b = contiguous_operand(b_t, trans_b, rank);
  for (int64_t i = 0; i < rank - 2; ++i) {
    if (dst_dims[i] > 1 && a.dims[i] == 1 && b.dims[i] == 1) {  // both sides expanded (stride 0): materialise a
      a = contiguous_operand(a_t, trans_a, rank);
      break;
    }
  }
  Shape run_dims = dst_dims;
  if (fold_batch_into_rows(a, b)) {
    b.dims = {b.dims[rank - 2], b.dims[rank - 1]};
    b.strides = {b.strides[rank - 2], b.strides[rank - 1]};
    run_dims = {a.dims[0], dst_dims.back()};
  }
  return run_dims;
}

void execute_matmul(const MatmulEntry& entry, const Operand& a, const Operand& b, Tensor& dst, const float* bias,
                    float scale, const MatmulPostOps& post) {
  const dnnl::engine& eng = dnnl_ctx::cpu_engine();
  const std::size_t es = dtype_size(a.keep.dtype());
  auto ptr = [es](const Tensor& t) {
    return static_cast<void*>(static_cast<char*>(t.impl()->storage->data) + t.offset() * static_cast<int64_t>(es));
  };
  std::unordered_map<int, memory> args;
  args.emplace(DNNL_ARG_SRC, memory(entry.pd.src_desc(), eng, ptr(a.keep)));
  args.emplace(DNNL_ARG_WEIGHTS, memory(entry.pd.weights_desc(), eng, ptr(b.keep)));
  args.emplace(DNNL_ARG_DST, memory(entry.pd.dst_desc(), eng, dst.data<float>()));
  if (bias) args.emplace(DNNL_ARG_BIAS, memory(entry.pd.bias_desc(), eng, const_cast<float*>(bias)));
  if (scale != 1.f) {
    const memory::desc scale_md({1}, memory::data_type::f32, memory::format_tag::x);
    args.emplace(DNNL_ARG_ATTR_OUTPUT_SCALES, memory(scale_md, eng, &scale));
  }
  if (post.residual) {
    const int index = post.act != MatmulPostOps::Act::none ? 1 : 0;  // the binary add follows the activation
    args.emplace(DNNL_ARG_ATTR_MULTIPLE_POST_OP(index) | DNNL_ARG_SRC_1,
                 memory(entry.pd.dst_desc(), eng, const_cast<float*>(post.residual)));
  }
  Tensor scratch;
  if (const std::size_t bytes = entry.pd.scratchpad_desc().get_size(); bytes > 0) {
    scratch = Tensor::empty({static_cast<int64_t>((bytes + 3) / 4)});
    args.emplace(DNNL_ARG_SCRATCHPAD, memory(entry.pd.scratchpad_desc(), eng, scratch.data<float>()));
  }
  dnnl::stream& s = dnnl_ctx::cpu_stream();
  entry.prim.execute(s, args);
  s.wait();
}

}  // namespace

Tensor matmul_nograd(const Tensor& a_in, const Tensor& b_in, bool trans_a, bool trans_b, const float* bias, float scale,
                     const MatmulPostOps& post) {
  check_operand(a_in, "a");
  check_operand(b_in, "b");
  const auto [a_t, b_t] = kernel_operands(a_in, b_in);
  const int64_t rank = std::max(a_t.dim(), b_t.dim());
  Operand a = make_operand(a_t, trans_a, rank);
  Operand b = make_operand(b_t, trans_b, rank);
  const Shape dst_dims = dst_shape(a, b, rank, a_in, b_in, trans_a, trans_b);
  Tensor dst = Tensor::empty(dst_dims);
  if (dst.numel() == 0) return dst;
  if (a.dims[rank - 1] == 0) return fill_empty_product(dst, bias, dst_dims.back(), post);

  const Shape run_dims = prepare_layouts(a, b, a_t, b_t, trans_a, trans_b, rank, dst_dims);
  std::shared_ptr<const MatmulEntry> entry =
      get_matmul(a, b, run_dims, bias != nullptr, scale != 1.f, post.act, post.residual != nullptr);
  if (entry->reference && !(a_t.is_contiguous() && b_t.is_contiguous() && !trans_a && !trans_b)) {
    // oneDNN has only its slow reference kernel for these strides: multiply plain copies instead.
    return matmul_nograd((trans_a ? a_t.transpose(-1, -2) : a_t).contiguous(),
                         (trans_b ? b_t.transpose(-1, -2) : b_t).contiguous(), false, false, bias, scale, post);
  }
  execute_matmul(*entry, a, b, dst, bias, scale, post);
  return dst;
}

}  // namespace datamux::detail

namespace datamux::ops {
namespace {

// t [..., C] as a detached 2-D [rows, C] matrix: a strided view when the leading dims collapse into one
// (e.g. a column slice of a 3-D tensor), a contiguous copy otherwise.
Tensor rows_view(const Tensor& t) {
  const int64_t r = t.dim(), c = t.shape().back();
  if (r == 2) return t.detach();
  int64_t rows = 1, row_stride = -1, expected = -1;
  bool collapsible = true;
  for (int64_t i = r - 2; i >= 0; --i) {
    const int64_t size = t.shape()[i], stride = t.strides()[i];
    rows *= size;
    if (size == 1) continue;
    if (row_stride < 0) {
      row_stride = stride;
      expected = stride * size;
    } else if (stride == expected) {
      expected *= size;
    } else {
      collapsible = false;
    }
  }
  if (!collapsible || row_stride < 0) return t.detach().reshape({-1, c});
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = t.impl()->storage;
  impl->offset = t.offset();
  impl->shape = {rows, c};
  impl->strides = {row_stride, t.strides().back()};
  impl->dtype = t.dtype();
  return Tensor(impl);
}

}  // namespace

using detail::matmul_nograd;
using detail::sum_to;

Tensor matmul(const Tensor& a, const Tensor& b, bool trans_a, bool trans_b) {
  detail::check_f32(a, "matmul", "a");
  detail::check_f32(b, "matmul", "b");
  Tensor out = matmul_nograd(a, b, trans_a, trans_b);
  if (!grad_enabled() || !any_requires_grad({a, b})) return out;
  Tensor ka = a.detach(), kb = b.detach();
  record(out, {a, b},
         [a, b, ka, kb, trans_a, trans_b](const Tensor& g) {
           if (a.requires_grad()) {
             // C = op(A) op(B): d op(A) = dC op(B)^T; with trans_a, dA = (dC op(B)^T)^T = op(B) dC^T.
             Tensor ga = !trans_a ? matmul_nograd(g, kb, false, !trans_b) : matmul_nograd(kb, g, trans_b, true);
             accumulate_grad(a, sum_to(ga, a.shape()));
           }
           if (b.requires_grad()) {
             Shape a_batch(a.shape().begin(), a.shape().end() - 2);
             Shape g_batch(g.shape().begin(), g.shape().end() - 2);
             const bool b_unbatched = shape_numel(Shape(b.shape().begin(), b.shape().end() - 2)) == 1;
             Tensor gb;
             if (b_unbatched && !trans_a && a_batch == g_batch && !g_batch.empty()) {
               // B shared by every batch entry: one GEMM over all rows instead of a batch then a sum.
               Tensor a2 = rows_view(ka), g2 = rows_view(g);
               gb = (!trans_b ? matmul_nograd(a2, g2, true, false) : matmul_nograd(g2, a2, true, false)).reshape(b.shape());
             } else {
               // d op(B) = op(A)^T dC; with trans_b, dB = dC^T op(A).
               gb = !trans_b ? matmul_nograd(ka, g, !trans_a, false) : matmul_nograd(g, ka, true, trans_a);
               gb = sum_to(gb, b.shape());
             }
             accumulate_grad(b, gb);
           }
         },
         "matmul");
  return out;
}

namespace {

detail::MatmulPostOps::Act post_act(Activation act) {
  switch (act) {
    case Activation::gelu: return detail::MatmulPostOps::Act::gelu;
    case Activation::relu: return detail::MatmulPostOps::Act::relu;
    case Activation::none: break;
  }
  return detail::MatmulPostOps::Act::none;
}

// act(x W^T + b) + residual as one oneDNN matmul; records the graph unless act is set (the caller
// decomposes that case when recording).
Tensor linear_fused(const Tensor& x, const Tensor& weight, const Tensor& bias, Activation act, const Tensor& residual) {
  detail::check_f32(x, "linear", "x");
  detail::check_f32(weight, "linear", "weight");
  if (weight.dim() != 2)
    throw std::invalid_argument(fmt::format("linear: weight must be [out, in], got shape {}", shape_str(weight.shape())));
  if (x.dim() < 1 || x.size(-1) != weight.size(1))
    throw std::invalid_argument(fmt::format("linear: x {} has {} features but weight {} expects {} (last dim of x must be `in`)",
                                            shape_str(x.shape()), x.dim() < 1 ? 0 : x.size(-1),
                                            shape_str(weight.shape()), weight.size(1)));
  const int64_t in = weight.size(1), out_features = weight.size(0);
  Tensor kb;
  if (bias.defined()) {
    detail::check_f32(bias, "linear", "bias");
    if (bias.shape() != Shape{out_features})
      throw std::invalid_argument(fmt::format("linear: bias must be [{}] (weight is {}), got {}", out_features,
                                              shape_str(weight.shape()), shape_str(bias.shape())));
    kb = bias.detach().contiguous();
  }
  Shape out_shape(x.shape().begin(), x.shape().end() - 1);
  out_shape.push_back(out_features);
  Tensor kr;
  if (residual.defined()) {
    detail::check_f32(residual, "linear", "residual");
    if (residual.shape() != out_shape)
      throw std::invalid_argument(fmt::format("linear: residual must have the output's shape {}, got {}",
                                              shape_str(out_shape), shape_str(residual.shape())));
    kr = residual.detach().contiguous();
  }
  Tensor x2 = x.dim() == 1 ? x.detach().reshape({1, in}) : rows_view(x);
  Tensor kw = weight.detach();
  const bool bf16 = effective_matmul_precision() == MatmulPrecision::bf16;
  if (bf16) {  // convert once here; backward reuses the bf16 copies
    x2 = detail::to_bf16(x2);
    kw = detail::to_bf16(kw);
  }
  detail::MatmulPostOps post;
  post.act = post_act(act);
  post.residual = kr.defined() ? kr.data<float>() : nullptr;
  Tensor y2 = matmul_nograd(x2, kw, false, true, kb.defined() ? kb.data<float>() : nullptr, 1.f, post);
  Tensor y = x.dim() == 2 ? y2 : y2.reshape(out_shape);
  if (!grad_enabled() || !any_requires_grad({x, weight, bias, residual})) return y;
  if (act != Activation::none) throw std::logic_error("linear: a fused activation cannot be differentiated");
  record(y, {x, weight, bias, residual},
         [x, weight, bias, residual, x2, kw, out_features, bf16](const Tensor& g) {
           if (residual.defined() && residual.requires_grad()) accumulate_grad(residual, g);
           Tensor g2 = g.dim() == 1 ? g.reshape({1, out_features}) : rows_view(g);
           if (bias.defined() && bias.requires_grad()) accumulate_grad(bias, ops::sum(g2, {0}));
           if (bf16 && (x.requires_grad() || weight.requires_grad())) g2 = detail::to_bf16(g2);
           if (x.requires_grad()) accumulate_grad(x, matmul_nograd(g2, kw, false, false).reshape(x.shape()));
           if (weight.requires_grad()) accumulate_grad(weight, matmul_nograd(g2, x2, true, false));
         },
         "linear");
  return y;
}

}  // namespace

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  return linear_fused(x, weight, bias, Activation::none, Tensor());
}

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias, Activation act, const Tensor& residual) {
  const bool recording = grad_enabled() && any_requires_grad({x, weight, bias, residual});
  if (act == Activation::none || !recording) return linear_fused(x, weight, bias, act, residual);
  // Training: the activation's backward needs its input, so it runs as its own op after the GEMM.
  Tensor y = linear_fused(x, weight, bias, Activation::none, Tensor());
  y = act == Activation::gelu ? ops::gelu(y) : ops::relu(y);
  return residual.defined() ? ops::add(y, residual) : y;
}

}  // namespace datamux::ops
