// ops::max_pool2d and ops::avg_pool2d on cached oneDNN pooling primitives (NCHW, no padding, output
// size rounded down as in PyTorch). Max pooling in training keeps oneDNN's workspace (the arg-max
// positions) for its backward pass.
#include <datamux/core/dnnl_context.hpp>
#include <datamux/core/tensor_util.hpp>
#include <datamux/ops.hpp>

#include <fmt/format.h>

#include <stdexcept>

namespace datamux::ops {
namespace {

using dnnl::memory;
using dnnl_ctx::to_dims;

struct PoolShape {
  Shape src, dst;
  int64_t kernel, stride;
  dnnl::algorithm alg;

  dnnl_ctx::PrimitiveKey key(const char* kind, int64_t training) const {
    dnnl_ctx::PrimitiveKey k(kind);
    k.add(src).add(kernel).add(stride).add(static_cast<int64_t>(alg)).add(training);
    return k;
  }
  memory::desc md(const Shape& dims) const { return memory::desc(to_dims(dims), memory::data_type::f32, memory::format_tag::nchw); }
};

struct PoolFwd {
  dnnl::pooling_forward::primitive_desc pd;
  dnnl::pooling_forward prim;
};
struct PoolBwd {
  dnnl::pooling_backward::primitive_desc pd;
  dnnl::pooling_backward prim;
};

std::shared_ptr<const PoolFwd> pool_fwd(const PoolShape& s, bool training) {
  return dnnl_ctx::cached_primitive<PoolFwd>(s.key("pool2d_fwd", training), [&] {
    const auto prop = training ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
    dnnl::pooling_forward::desc d(prop, s.alg, s.md(s.src), s.md(s.dst), {s.stride, s.stride}, {s.kernel, s.kernel}, {0, 0},
                                  {0, 0});
    dnnl::pooling_forward::primitive_desc pd(d, dnnl_ctx::cpu_engine());
    return PoolFwd{pd, dnnl::pooling_forward(pd)};
  });
}

std::shared_ptr<const PoolBwd> pool_bwd(const PoolShape& s) {
  return dnnl_ctx::cached_primitive<PoolBwd>(s.key("pool2d_bwd", 1), [&] {
    dnnl::pooling_backward::desc d(s.alg, s.md(s.src), s.md(s.dst), {s.stride, s.stride}, {s.kernel, s.kernel}, {0, 0}, {0, 0});
    dnnl::pooling_backward::primitive_desc pd(d, dnnl_ctx::cpu_engine(), pool_fwd(s, true)->pd);
    return PoolBwd{pd, dnnl::pooling_backward(pd)};
  });
}

memory mem(const memory::desc& md, void* p) { return memory(md, dnnl_ctx::cpu_engine(), p); }

void run(const dnnl::primitive& p, const std::unordered_map<int, memory>& args) {
  dnnl::stream& s = dnnl_ctx::cpu_stream();
  p.execute(s, args);
  s.wait();
}

Tensor pool2d(const Tensor& x, int64_t kernel, int64_t stride, dnnl::algorithm alg, const char* name) {
  detail::check_f32(x, name, "x");
  if (x.dim() != 4) throw std::invalid_argument(fmt::format("{}: x must be [B, C, H, W], got shape {}", name, shape_str(x.shape())));
  if (stride == -1) stride = kernel;
  if (kernel < 1 || stride < 1)
    throw std::invalid_argument(fmt::format("{}: kernel and stride must be >= 1 (stride -1 = kernel), got kernel {} stride {}",
                                            name, kernel, stride));
  if (x.size(2) < kernel || x.size(3) < kernel)
    throw std::invalid_argument(fmt::format("{}: kernel {} larger than the input {}x{}", name, kernel, x.size(2), x.size(3)));
  PoolShape s{x.shape(), {x.size(0), x.size(1), (x.size(2) - kernel) / stride + 1, (x.size(3) - kernel) / stride + 1},
              kernel, stride, alg};
  Tensor out = Tensor::empty(s.dst);
  if (out.numel() == 0) return out;
  const bool training = grad_enabled() && x.requires_grad();
  Tensor kx = x.detach().contiguous();
  auto fwd = pool_fwd(s, training);
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, mem(fwd->pd.src_desc(), kx.data<float>())},
                                       {DNNL_ARG_DST, mem(fwd->pd.dst_desc(), out.data<float>())}};
  std::shared_ptr<Storage> workspace;
  const memory::desc ws_md = fwd->pd.workspace_desc();
  if (training && ws_md.get_size() > 0) {
    workspace = std::make_shared<Storage>(ws_md.get_size());
    args.emplace(DNNL_ARG_WORKSPACE, mem(ws_md, workspace->data));
  }
  run(fwd->prim, args);
  if (!training) return out;
  record(out, {x},
         [x, s, workspace](const Tensor& g_in) {
           Tensor g = g_in.contiguous();
           auto bwd = pool_bwd(s);
           Tensor gx = Tensor::empty(s.src);
           std::unordered_map<int, memory> a{{DNNL_ARG_DIFF_DST, mem(bwd->pd.diff_dst_desc(), const_cast<float*>(g.data<float>()))},
                                             {DNNL_ARG_DIFF_SRC, mem(bwd->pd.diff_src_desc(), gx.data<float>())}};
           if (workspace) a.emplace(DNNL_ARG_WORKSPACE, mem(bwd->pd.workspace_desc(), workspace->data));
           run(bwd->prim, a);
           accumulate_grad(x, gx);
         },
         name);
  return out;
}

}  // namespace

Tensor max_pool2d(const Tensor& x, int64_t kernel, int64_t stride) {
  return pool2d(x, kernel, stride, dnnl::algorithm::pooling_max, "max_pool2d");
}

Tensor avg_pool2d(const Tensor& x, int64_t kernel, int64_t stride) {
  return pool2d(x, kernel, stride, dnnl::algorithm::pooling_avg_exclude_padding, "avg_pool2d");
}

}  // namespace datamux::ops
