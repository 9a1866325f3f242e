// Matmul and linear benchmarks. Linear forward+backward is compared with the same three GEMMs driven as
// raw, pre-built oneDNN primitives on pre-allocated buffers (forward with bias, dX = dY W,
// dW = dY^T X): the counter `vs_raw` is datamux GFLOP/s over raw oneDNN GFLOP/s at that shape.
#include "bench_common.hpp"

#include <datamux/core/cpu_features.hpp>
#include <datamux/core/matmul_kernel.hpp>
#include <datamux/ops.hpp>

#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <chrono>
#include <unordered_map>
#include <vector>

namespace datamux::bench {
namespace {

using dnnl::memory;
using Clock = std::chrono::steady_clock;

memory::desc strided(memory::dims dims, memory::dims strides) {
  return memory::desc(dims, memory::data_type::f32, strides);
}

// The floor: forward + both backward GEMMs as raw oneDNN primitives, created once, no allocation.
class RawLinear {
 public:
  RawLinear(int64_t m, int64_t k, int64_t n)
      : eng_(dnnl::engine::kind::cpu, 0), s_(eng_), x_(m * k, 0.5f), w_(n * k, 0.25f), b_(n, 0.1f), y_(m * n), dy_(m * n, 1.f),
        dx_(m * k), dw_(n * k) {
    // y[M,N] = x[M,K] W^T (W [N,K] viewed as a strided [K,N]) + b
    memory::desc x_md = strided({m, k}, {k, 1}), wt_md = strided({k, n}, {1, k}), b_md = strided({1, n}, {n, 1});
    memory::desc y_md = strided({m, n}, {n, 1});
    dnnl::matmul::primitive_desc fwd_pd(dnnl::matmul::desc(x_md, wt_md, b_md, y_md), eng_);
    // dx[M,K] = dy[M,N] W[N,K]
    memory::desc w_md = strided({n, k}, {k, 1});
    dnnl::matmul::primitive_desc bwd_d_pd(dnnl::matmul::desc(y_md, w_md, x_md), eng_);
    // dw[N,K] = dy^T[N,M] x[M,K]
    memory::desc dyt_md = strided({n, m}, {1, n});
    dnnl::matmul::primitive_desc bwd_w_pd(dnnl::matmul::desc(dyt_md, x_md, w_md), eng_);
    fwd_ = dnnl::matmul(fwd_pd), bwd_d_ = dnnl::matmul(bwd_d_pd), bwd_w_ = dnnl::matmul(bwd_w_pd);
    auto mem = [&](const memory::desc& md, std::vector<float>& v) { return memory(md, eng_, v.data()); };
    fwd_args_ = {{DNNL_ARG_SRC, mem(x_md, x_)}, {DNNL_ARG_WEIGHTS, mem(wt_md, w_)}, {DNNL_ARG_BIAS, mem(b_md, b_)},
                 {DNNL_ARG_DST, mem(y_md, y_)}};
    bwd_d_args_ = {{DNNL_ARG_SRC, mem(y_md, dy_)}, {DNNL_ARG_WEIGHTS, mem(w_md, w_)}, {DNNL_ARG_DST, mem(x_md, dx_)}};
    bwd_w_args_ = {{DNNL_ARG_SRC, mem(dyt_md, dy_)}, {DNNL_ARG_WEIGHTS, mem(x_md, x_)}, {DNNL_ARG_DST, mem(w_md, dw_)}};
  }
  void step() {
    fwd_.execute(s_, fwd_args_);
    bwd_d_.execute(s_, bwd_d_args_);
    bwd_w_.execute(s_, bwd_w_args_);
    s_.wait();
  }

 private:
  dnnl::engine eng_;
  dnnl::stream s_;
  std::vector<float> x_, w_, b_, y_, dy_, dx_, dw_;
  dnnl::matmul fwd_, bwd_d_, bwd_w_;
  std::unordered_map<int, memory> fwd_args_, bwd_d_args_, bwd_w_args_;
};

double median(std::vector<double> v) {
  std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
  return v[v.size() / 2];
}

void BM_RawOneDNN_LinearFwdBwd(benchmark::State& state) {
  const int64_t m = state.range(0), k = state.range(1), n = state.range(2);
  RawLinear raw(m, k, n);
  for (auto _ : state) raw.step();
  set_gflops(state, 6.0 * m * n * k);
}

// vs_raw: each iteration also runs the raw baseline (outside the timed region) and the ratio is taken
// between the medians of the two, so load from other processes hits both sides alike.
void linear_fwd_bwd(benchmark::State& state, MatmulPrecision precision) {
  const int64_t m = state.range(0), k = state.range(1), n = state.range(2);
  set_matmul_precision(precision);
  state.SetLabel(effective_matmul_precision() == MatmulPrecision::bf16 ? "bf16" : "f32");
  Rng rng(1);
  Tensor x = Tensor::randn({m, k}, rng).set_requires_grad();
  Tensor w = Tensor::randn({n, k}, rng, 0.f, 0.05f).set_requires_grad();
  Tensor b = Tensor::randn({n}, rng).set_requires_grad();
  Tensor dy = Tensor::randn({m, n}, rng);
  RawLinear raw(m, k, n);
  std::vector<double> ours, theirs;
  for (auto _ : state) {
    const auto t0 = Clock::now();
    x.zero_grad(), w.zero_grad(), b.zero_grad();
    Tensor y = ops::linear(x, w, b);
    y.backward(dy);
    const auto t1 = Clock::now();
    state.PauseTiming();
    const auto t2 = Clock::now();
    raw.step();
    const auto t3 = Clock::now();
    state.ResumeTiming();
    ours.push_back(std::chrono::duration<double>(t1 - t0).count());
    theirs.push_back(std::chrono::duration<double>(t3 - t2).count());
  }
  set_matmul_precision(MatmulPrecision::f32);
  set_gflops(state, 6.0 * m * n * k);
  state.counters["vs_raw"] = median(theirs) / median(ours);
}

void BM_Linear_FwdBwd(benchmark::State& state) { linear_fwd_bwd(state, MatmulPrecision::f32); }
// bf16 inputs, f32 accumulation (f32 where the CPU has no fast bf16); vs_raw is still against raw f32.
void BM_Linear_FwdBwd_Bf16(benchmark::State& state) { linear_fwd_bwd(state, MatmulPrecision::bf16); }

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

// Would pre-packing weights for inference pay? The forward linear GEMM as raw oneDNN with the weight in
// its [out, in] layout (what ops::linear hands oneDNN) against the same GEMM on a copy reordered once into
// the layout oneDNN picks for format_tag::any. Both run alternately in every iteration; the counter
// `packed_vs_plain` is the median packed time over the median plain time (< 1: packing is faster).
void BM_RawOneDNN_PrepackedWeights(benchmark::State& state) {
  const int64_t m = state.range(0), k = state.range(1), n = state.range(2);
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  dnnl::stream s(eng);
  std::vector<float> x(m * k, 0.5f), w(n * k, 0.25f), b(n, 0.1f), y(m * n);
  const memory::desc x_md = strided({m, k}, {k, 1}), wt_md = strided({k, n}, {1, k}), b_md = strided({1, n}, {n, 1});
  const memory::desc y_md = strided({m, n}, {n, 1});
  const memory::desc any_md({k, n}, memory::data_type::f32, memory::format_tag::any);
  dnnl::matmul::primitive_desc plain_pd(dnnl::matmul::desc(x_md, wt_md, b_md, y_md), eng);
  dnnl::matmul::primitive_desc packed_pd(dnnl::matmul::desc(x_md, any_md, b_md, y_md), eng);
  dnnl::matmul plain(plain_pd), packed(packed_pd);
  memory xm(x_md, eng, x.data()), wm(wt_md, eng, w.data()), bm(b_md, eng, b.data()), ym(y_md, eng, y.data());
  memory wp(packed_pd.weights_desc(), eng);
  dnnl::reorder(wm, wp).execute(s, wm, wp);
  s.wait();
  std::vector<double> t_plain, t_packed;
  for (auto _ : state) {
    const auto t0 = Clock::now();
    plain.execute(s, {{DNNL_ARG_SRC, xm}, {DNNL_ARG_WEIGHTS, wm}, {DNNL_ARG_BIAS, bm}, {DNNL_ARG_DST, ym}});
    s.wait();
    const auto t1 = Clock::now();
    packed.execute(s, {{DNNL_ARG_SRC, xm}, {DNNL_ARG_WEIGHTS, wp}, {DNNL_ARG_BIAS, bm}, {DNNL_ARG_DST, ym}});
    s.wait();
    const auto t2 = Clock::now();
    t_plain.push_back(std::chrono::duration<double>(t1 - t0).count());
    t_packed.push_back(std::chrono::duration<double>(t2 - t1).count());
  }
  set_gflops(state, 2.0 * 2.0 * m * n * k);
  state.counters["packed_vs_plain"] = median(t_packed) / median(t_plain);
}

void linear_shapes(benchmark::internal::Benchmark* bm) {
  bm->Args({2048, 256, 1024})->Args({2048, 1024, 256})->Args({512, 256, 256})->UseRealTime()->Unit(benchmark::kMillisecond);
}

}  // namespace

BENCHMARK(BM_RawOneDNN_LinearFwdBwd)->Apply(linear_shapes);
BENCHMARK(BM_RawOneDNN_PrepackedWeights)->Apply(linear_shapes)->Args({2048, 256, 768});
BENCHMARK(BM_Linear_FwdBwd)->Apply(linear_shapes);
BENCHMARK(BM_Linear_FwdBwd_Bf16)->Apply(linear_shapes);
BENCHMARK(BM_Linear_Fwd)->Apply(linear_shapes);
BENCHMARK(BM_Matmul_BatchedSharedWeight)->Args({16, 128, 256, 1024})->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Matmul_HeadsQKt)->Args({16, 4, 128, 64})->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Matmul_FwdBwd)->Args({16, 128, 256, 1024})->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace datamux::bench
