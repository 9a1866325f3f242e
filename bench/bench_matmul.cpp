// Matmul and linear benchmarks. Linear forward+backward is compared with the same three GEMMs driven as
// raw, pre-built oneDNN primitives on pre-allocated buffers (forward with bias, dX = dY W,
// dW = dY^T X): the counter `vs_raw` is datamux GFLOP/s over raw oneDNN GFLOP/s at that shape.
#include "bench_common.hpp"

#include <datamux/core/cpu_features.hpp>
#include <datamux/core/matmul_kernel.hpp>
#include <datamux/ops.hpp>

#include <oneapi/dnnl/dnnl.hpp>

#include <chrono>
#include <vector>

namespace datamux::bench {
namespace {

using dnnl::memory;
using Clock = std::chrono::steady_clock;

std::string linear_key(int64_t m, int64_t k, int64_t n) {
  return std::to_string(m) + "x" + std::to_string(k) + "x" + std::to_string(n);
}

memory::desc strided(memory::dims dims, memory::dims strides) {
  return memory::desc(dims, memory::data_type::f32, strides);
}

// The floor: forward + both backward GEMMs as raw oneDNN primitives, created once, no allocation.
void BM_RawOneDNN_LinearFwdBwd(benchmark::State& state) {
  const int64_t m = state.range(0), k = state.range(1), n = state.range(2);
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  dnnl::stream s(eng);
  std::vector<float> x(m * k, 0.5f), w(n * k, 0.25f), b(n, 0.1f), y(m * n), dy(m * n, 1.f), dx(m * k), dw(n * k);
  // y[M,N] = x[M,K] W^T (W [N,K] viewed as a strided [K,N]) + b
  memory::desc x_md = strided({m, k}, {k, 1}), wt_md = strided({k, n}, {1, k}), b_md = strided({1, n}, {n, 1});
  memory::desc y_md = strided({m, n}, {n, 1});
  dnnl::matmul::primitive_desc fwd_pd(dnnl::matmul::desc(x_md, wt_md, b_md, y_md), eng);
  // dx[M,K] = dy[M,N] W[N,K]
  memory::desc w_md = strided({n, k}, {k, 1});
  dnnl::matmul::primitive_desc bwd_d_pd(dnnl::matmul::desc(y_md, w_md, x_md), eng);
  // dw[N,K] = dy^T[N,M] x[M,K]
  memory::desc dyt_md = strided({n, m}, {1, n});
  dnnl::matmul::primitive_desc bwd_w_pd(dnnl::matmul::desc(dyt_md, x_md, w_md), eng);
  dnnl::matmul fwd(fwd_pd), bwd_d(bwd_d_pd), bwd_w(bwd_w_pd);
  memory x_m(x_md, eng, x.data()), wt_m(wt_md, eng, w.data()), b_m(b_md, eng, b.data()), y_m(y_md, eng, y.data());
  memory dy_m(y_md, eng, dy.data()), w_m(w_md, eng, w.data()), dx_m(x_md, eng, dx.data());
  memory dyt_m(dyt_md, eng, dy.data()), dw_m(w_md, eng, dw.data());
  int64_t iters = 0;
  const auto t0 = Clock::now();
  for (auto _ : state) {
    fwd.execute(s, {{DNNL_ARG_SRC, x_m}, {DNNL_ARG_WEIGHTS, wt_m}, {DNNL_ARG_BIAS, b_m}, {DNNL_ARG_DST, y_m}});
    bwd_d.execute(s, {{DNNL_ARG_SRC, dy_m}, {DNNL_ARG_WEIGHTS, w_m}, {DNNL_ARG_DST, dx_m}});
    bwd_w.execute(s, {{DNNL_ARG_SRC, dyt_m}, {DNNL_ARG_WEIGHTS, x_m}, {DNNL_ARG_DST, dw_m}});
    s.wait();
    ++iters;
  }
  raw_seconds()[linear_key(m, k, n)] = std::chrono::duration<double>(Clock::now() - t0).count() / iters;
  set_gflops(state, 6.0 * m * n * k);
}

void BM_Linear_FwdBwd(benchmark::State& state) {
  const int64_t m = state.range(0), k = state.range(1), n = state.range(2);
  Rng rng(1);
  Tensor x = Tensor::randn({m, k}, rng).set_requires_grad();
  Tensor w = Tensor::randn({n, k}, rng, 0.f, 0.05f).set_requires_grad();
  Tensor b = Tensor::randn({n}, rng).set_requires_grad();
  Tensor dy = Tensor::randn({m, n}, rng);
  int64_t iters = 0;
  const auto t0 = Clock::now();
  for (auto _ : state) {
    x.zero_grad(), w.zero_grad(), b.zero_grad();
    Tensor y = ops::linear(x, w, b);
    y.backward(dy);
    ++iters;
  }
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count() / iters;
  set_gflops(state, 6.0 * m * n * k);
  auto raw = raw_seconds().find(linear_key(m, k, n));
  if (raw != raw_seconds().end()) state.counters["vs_raw"] = raw->second / secs;
}

void BM_Linear_Fwd(benchmark::State& state) {
  const int64_t m = state.range(0), k = state.range(1), n = state.range(2);
  Rng rng(1);
  Tensor x = Tensor::randn({m, k}, rng), w = Tensor::randn({n, k}, rng), b = Tensor::randn({n}, rng);
  for (auto _ : state) benchmark::DoNotOptimize(ops::linear(x, w, b));
  set_gflops(state, 2.0 * m * n * k);
}

// Transformer-style batched products: [B, L, D] x [D, F] (folded into one GEMM) and q k^T per head.
void BM_Matmul_BatchedSharedWeight(benchmark::State& state) {
  const int64_t b = state.range(0), l = state.range(1), d = state.range(2), f = state.range(3);
  Rng rng(1);
  Tensor x = Tensor::randn({b, l, d}, rng), w = Tensor::randn({d, f}, rng);
  for (auto _ : state) benchmark::DoNotOptimize(ops::matmul(x, w));
  set_gflops(state, 2.0 * b * l * d * f);
}

void BM_Matmul_HeadsQKt(benchmark::State& state) {
  const int64_t b = state.range(0), h = state.range(1), l = state.range(2), d = state.range(3);
  Rng rng(1);
  // q, k as they come out of a projection: [B, L, H, D] permuted to [B, H, L, D] (no copy).
  Tensor q = Tensor::randn({b, l, h, d}, rng).permute({0, 2, 1, 3});
  Tensor k = Tensor::randn({b, l, h, d}, rng).permute({0, 2, 1, 3});
  for (auto _ : state) benchmark::DoNotOptimize(ops::matmul(q, k, false, true));
  set_gflops(state, 2.0 * b * h * l * l * d);
}

void BM_Matmul_FwdBwd(benchmark::State& state) {
  const int64_t b = state.range(0), m = state.range(1), k = state.range(2), n = state.range(3);
  Rng rng(1);
  Tensor x = Tensor::randn({b, m, k}, rng).set_requires_grad();
  Tensor w = Tensor::randn({k, n}, rng).set_requires_grad();
  Tensor dy = Tensor::randn({b, m, n}, rng);
  for (auto _ : state) {
    x.zero_grad(), w.zero_grad();
    ops::matmul(x, w).backward(dy);
  }
  set_gflops(state, 6.0 * b * m * k * n);
}

void linear_shapes(benchmark::internal::Benchmark* bm) {
  bm->Args({2048, 256, 1024})->Args({2048, 1024, 256})->Args({512, 256, 256})->UseRealTime()->Unit(benchmark::kMillisecond);
}

}  // namespace

// Order matters: the raw baselines run first so the linear benchmarks can report `vs_raw`.
BENCHMARK(BM_RawOneDNN_LinearFwdBwd)->Apply(linear_shapes);
BENCHMARK(BM_Linear_FwdBwd)->Apply(linear_shapes);
BENCHMARK(BM_Linear_Fwd)->Apply(linear_shapes);
BENCHMARK(BM_Matmul_BatchedSharedWeight)->Args({16, 128, 256, 1024})->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Matmul_HeadsQKt)->Args({16, 4, 128, 64})->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Matmul_FwdBwd)->Args({16, 128, 256, 1024})->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace datamux::bench
