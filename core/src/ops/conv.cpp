// ops::conv2d on cached oneDNN convolution primitives: forward, backward-data and backward-weights (with
// the bias gradient), the backward descriptors built with the forward one as their hint.
//
// Tensors stay in plain NCHW / OIHW: at the LeNet-sized layers datamux trains, oneDNN's GEMM-based
// kernels on plain layouts are as fast as blocked layouts once the reorders to and from them are paid.
#include <datamux/core/dnnl_context.hpp>
#include <datamux/core/tensor_util.hpp>
#include <datamux/ops.hpp>

#include <fmt/format.h>

#include <stdexcept>

namespace datamux::ops {
namespace {

using dnnl::memory;
using dnnl_ctx::to_dims;

struct ConvShape {
  Shape src, weights, dst;
  int64_t stride, padding;
  bool bias;

  dnnl_ctx::PrimitiveKey key(const char* kind, int64_t extra = 0) const {
    dnnl_ctx::PrimitiveKey k(kind);
    k.add(src).add(weights).add(stride).add(padding).add(bias ? 1 : 0).add(extra);
    return k;
  }
  memory::desc md(const Shape& dims) const {
    return memory::desc(to_dims(dims), memory::data_type::f32, dims.size() == 4 ? memory::format_tag::nchw : memory::format_tag::x);
  }
  memory::dims strides() const { return {stride, stride}; }
  memory::dims pads() const { return {padding, padding}; }
};

struct ConvFwd {
  dnnl::convolution_forward::primitive_desc pd;
  dnnl::convolution_forward prim;
};
struct ConvBwdData {
  dnnl::convolution_backward_data::primitive_desc pd;
  dnnl::convolution_backward_data prim;
};
struct ConvBwdWeights {
  dnnl::convolution_backward_weights::primitive_desc pd;
  dnnl::convolution_backward_weights prim;
};

std::shared_ptr<const ConvFwd> conv_fwd(const ConvShape& s, bool training) {
  return dnnl_ctx::cached_primitive<ConvFwd>(s.key("conv2d_fwd", training), [&] {
    const auto prop = training ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
    auto d = s.bias ? dnnl::convolution_forward::desc(prop, dnnl::algorithm::convolution_direct, s.md(s.src), s.md(s.weights),
                                                      s.md({s.weights[0]}), s.md(s.dst), s.strides(), s.pads(), s.pads())
                    : dnnl::convolution_forward::desc(prop, dnnl::algorithm::convolution_direct, s.md(s.src), s.md(s.weights),
                                                      s.md(s.dst), s.strides(), s.pads(), s.pads());
    dnnl::convolution_forward::primitive_desc pd(d, dnnl_ctx::cpu_engine());
    return ConvFwd{pd, dnnl::convolution_forward(pd)};
  });
}

std::shared_ptr<const ConvBwdData> conv_bwd_data(const ConvShape& s) {
  return dnnl_ctx::cached_primitive<ConvBwdData>(s.key("conv2d_bwd_data"), [&] {
    dnnl::convolution_backward_data::desc d(dnnl::algorithm::convolution_direct, s.md(s.src), s.md(s.weights), s.md(s.dst),
                                            s.strides(), s.pads(), s.pads());
    dnnl::convolution_backward_data::primitive_desc pd(d, dnnl_ctx::cpu_engine(), conv_fwd(s, true)->pd);
    return ConvBwdData{pd, dnnl::convolution_backward_data(pd)};
  });
}

std::shared_ptr<const ConvBwdWeights> conv_bwd_weights(const ConvShape& s) {
  return dnnl_ctx::cached_primitive<ConvBwdWeights>(s.key("conv2d_bwd_weights"), [&] {
    auto d = s.bias ? dnnl::convolution_backward_weights::desc(dnnl::algorithm::convolution_direct, s.md(s.src), s.md(s.weights),
                                                               s.md({s.weights[0]}), s.md(s.dst), s.strides(), s.pads(), s.pads())
                    : dnnl::convolution_backward_weights::desc(dnnl::algorithm::convolution_direct, s.md(s.src), s.md(s.weights),
                                                               s.md(s.dst), s.strides(), s.pads(), s.pads());
    dnnl::convolution_backward_weights::primitive_desc pd(d, dnnl_ctx::cpu_engine(), conv_fwd(s, true)->pd);
    return ConvBwdWeights{pd, dnnl::convolution_backward_weights(pd)};
  });
}

memory mem(const memory::desc& md, const Tensor& t) {
  return memory(md, dnnl_ctx::cpu_engine(), const_cast<float*>(t.data<float>()));
}

void run(const dnnl::primitive& p, const std::unordered_map<int, memory>& args) {
  dnnl::stream& s = dnnl_ctx::cpu_stream();
  p.execute(s, args);
  s.wait();
}

}  // namespace

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, int64_t stride, int64_t padding) {
  detail::check_f32(x, "conv2d", "x");
  detail::check_f32(weight, "conv2d", "weight");
  if (x.dim() != 4)
    throw std::invalid_argument(fmt::format("conv2d: x must be [B, C, H, W], got shape {}", shape_str(x.shape())));
  if (weight.dim() != 4 || weight.size(1) != x.size(1))
    throw std::invalid_argument(fmt::format("conv2d: weight must be [out, {}, kh, kw] for x {}, got {}", x.size(1),
                                            shape_str(x.shape()), shape_str(weight.shape())));
  if (stride < 1 || padding < 0)
    throw std::invalid_argument(fmt::format("conv2d: stride must be >= 1 and padding >= 0, got stride {} padding {}", stride, padding));
  const int64_t oh = (x.size(2) + 2 * padding - weight.size(2)) / stride + 1;
  const int64_t ow = (x.size(3) + 2 * padding - weight.size(3)) / stride + 1;
  if (x.size(2) + 2 * padding < weight.size(2) || x.size(3) + 2 * padding < weight.size(3))
    throw std::invalid_argument(fmt::format("conv2d: kernel {}x{} larger than the padded input {}x{}", weight.size(2),
                                            weight.size(3), x.size(2) + 2 * padding, x.size(3) + 2 * padding));
  if (bias.defined()) {
    detail::check_f32(bias, "conv2d", "bias");
    if (bias.shape() != Shape{weight.size(0)})
      throw std::invalid_argument(fmt::format("conv2d: bias must be [{}], got {}", weight.size(0), shape_str(bias.shape())));
  }
  ConvShape s{x.shape(), weight.shape(), {x.size(0), weight.size(0), oh, ow}, stride, padding, bias.defined()};
  Tensor out = Tensor::empty(s.dst);
  if (out.numel() == 0 || x.numel() == 0) {
    out.fill_(0.f);
    return out;
  }
  const bool training = grad_enabled() && any_requires_grad({x, weight, bias});
  Tensor kx = x.detach().contiguous(), kw = weight.detach().contiguous();
  Tensor kb = bias.defined() ? bias.detach().contiguous() : Tensor();
  auto fwd = conv_fwd(s, training);
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, mem(fwd->pd.src_desc(), kx)},
                                       {DNNL_ARG_WEIGHTS, mem(fwd->pd.weights_desc(), kw)},
                                       {DNNL_ARG_DST, mem(fwd->pd.dst_desc(), out)}};
  if (kb.defined()) args.emplace(DNNL_ARG_BIAS, mem(fwd->pd.bias_desc(), kb));
  run(fwd->prim, args);
  if (!training) return out;
  record(out, {x, weight, bias},
         [x, weight, bias, kx, kw, s](const Tensor& g_in) {
           Tensor g = g_in.contiguous();
           if (x.requires_grad()) {
             auto bwd = conv_bwd_data(s);
             Tensor gx = Tensor::empty(s.src);
             run(bwd->prim, {{DNNL_ARG_DIFF_DST, mem(bwd->pd.diff_dst_desc(), g)},
                             {DNNL_ARG_WEIGHTS, mem(bwd->pd.weights_desc(), kw)},
                             {DNNL_ARG_DIFF_SRC, mem(bwd->pd.diff_src_desc(), gx)}});
             accumulate_grad(x, gx);
           }
           if (weight.requires_grad() || (bias.defined() && bias.requires_grad())) {
             auto bwd = conv_bwd_weights(s);
             Tensor gw = Tensor::empty(s.weights);
             std::unordered_map<int, memory> a{{DNNL_ARG_DIFF_DST, mem(bwd->pd.diff_dst_desc(), g)},
                                               {DNNL_ARG_SRC, mem(bwd->pd.src_desc(), kx)},
                                               {DNNL_ARG_DIFF_WEIGHTS, mem(bwd->pd.diff_weights_desc(), gw)}};
             Tensor gb;
             if (s.bias) {
               gb = Tensor::empty({s.weights[0]});
               a.emplace(DNNL_ARG_DIFF_BIAS, mem(bwd->pd.diff_bias_desc(), gb));
             }
             run(bwd->prim, a);
             accumulate_grad(weight, gw);
             if (s.bias) accumulate_grad(bias, gb);
           }
         },
         "conv2d");
  return out;
}

}  // namespace datamux::ops
