// oneDNN version and dispatched ISA, and the raw oneDNN linear baseline (see core/onednn_info.hpp).
#include <datamux/core/dnnl_context.hpp>
#include <datamux/core/onednn_info.hpp>

#include <fmt/format.h>

#include <unordered_map>
#include <vector>

namespace datamux {

std::string onednn_version() {
  const dnnl::version_t* v = dnnl::version();
  return fmt::format("{}.{}.{}", v->major, v->minor, v->patch);
}

std::string onednn_effective_isa() {
  switch (dnnl::get_effective_cpu_isa()) {
    case dnnl::cpu_isa::sse41: return "sse41";
    case dnnl::cpu_isa::avx: return "avx";
    case dnnl::cpu_isa::avx2: return "avx2";
    case dnnl::cpu_isa::avx2_vnni: return "avx2_vnni";
    case dnnl::cpu_isa::avx512_core: return "avx512_core";
    case dnnl::cpu_isa::avx512_core_vnni: return "avx512_core_vnni";
    case dnnl::cpu_isa::avx512_core_bf16: return "avx512_core_bf16";
    case dnnl::cpu_isa::avx512_core_amx: return "avx512_core_amx";
    default: return "other";
  }
}

using dnnl::memory;

struct RawOneDnnLinear::Impl {
  Impl(int64_t m, int64_t k, int64_t n)
      : x(m * k, 0.5f), w(n * k, 0.25f), b(n, 0.1f), y(m * n), dy(m * n, 1.f), dx(m * k), dw(n * k) {
    const dnnl::engine& eng = dnnl_ctx::cpu_engine();
    auto md = [](memory::dims dims, memory::dims strides) { return memory::desc(dims, memory::data_type::f32, strides); };
    // y[M,N] = x[M,K] W^T (W [N,K] read as a strided [K,N]) + b
    const memory::desc x_md = md({m, k}, {k, 1}), wt_md = md({k, n}, {1, k}), b_md = md({1, n}, {n, 1});
    const memory::desc y_md = md({m, n}, {n, 1}), w_md = md({n, k}, {k, 1}), dyt_md = md({n, m}, {1, n});
    fwd = dnnl::matmul(dnnl::matmul::primitive_desc(dnnl::matmul::desc(x_md, wt_md, b_md, y_md), eng));
    bwd_data = dnnl::matmul(dnnl::matmul::primitive_desc(dnnl::matmul::desc(y_md, w_md, x_md), eng));    // dx = dy W
    bwd_weights = dnnl::matmul(dnnl::matmul::primitive_desc(dnnl::matmul::desc(dyt_md, x_md, w_md), eng));  // dW = dy^T x
    auto mem = [&](const memory::desc& d, std::vector<float>& v) { return memory(d, eng, v.data()); };
    fwd_args = {{DNNL_ARG_SRC, mem(x_md, x)}, {DNNL_ARG_WEIGHTS, mem(wt_md, w)}, {DNNL_ARG_BIAS, mem(b_md, b)},
                {DNNL_ARG_DST, mem(y_md, y)}};
    bwd_data_args = {{DNNL_ARG_SRC, mem(y_md, dy)}, {DNNL_ARG_WEIGHTS, mem(w_md, w)}, {DNNL_ARG_DST, mem(x_md, dx)}};
    bwd_weights_args = {{DNNL_ARG_SRC, mem(dyt_md, dy)}, {DNNL_ARG_WEIGHTS, mem(x_md, x)}, {DNNL_ARG_DST, mem(w_md, dw)}};
  }
  std::vector<float> x, w, b, y, dy, dx, dw;
  dnnl::matmul fwd, bwd_data, bwd_weights;
  std::unordered_map<int, memory> fwd_args, bwd_data_args, bwd_weights_args;
};

RawOneDnnLinear::RawOneDnnLinear(int64_t m, int64_t k, int64_t n) : impl_(std::make_unique<Impl>(m, k, n)) {}
RawOneDnnLinear::~RawOneDnnLinear() = default;

void RawOneDnnLinear::forward() {
  dnnl::stream& s = dnnl_ctx::cpu_stream();
  impl_->fwd.execute(s, impl_->fwd_args);
  s.wait();
}

void RawOneDnnLinear::forward_backward() {
  dnnl::stream& s = dnnl_ctx::cpu_stream();
  impl_->fwd.execute(s, impl_->fwd_args);
  impl_->bwd_data.execute(s, impl_->bwd_data_args);
  impl_->bwd_weights.execute(s, impl_->bwd_weights_args);
  s.wait();
}

}  // namespace datamux
