// Layer norm and softmax benchmarks, forward and forward+backward through autograd, at [2048, 256]
// and [4096, 1024]. These ops are memory-bound, so the counter is GB/s of the tensors each pass must
// touch: forward reads x and writes y (2 tensors), backward reads g and x (or y) and writes dx
// (3 tensors). Run: build/bin/bench_ops --benchmark_filter='LayerNorm|Softmax' --benchmark_min_time=0.2
#include <benchmark/benchmark.h>

#include <datamux/ops.hpp>

namespace {

using datamux::Rng;
using datamux::Tensor;
namespace ops = datamux::ops;

void set_bandwidth(benchmark::State& state, double tensors, int64_t elements) {
  state.counters["GB/s"] = benchmark::Counter(tensors * static_cast<double>(elements) * sizeof(float) * 1e-9,
                                              benchmark::Counter::kIsIterationInvariantRate);
}

void BM_LayerNormForward(benchmark::State& state) {
  const int64_t rows = state.range(0), d = state.range(1);
  Rng rng(1);
  Tensor x = Tensor::randn({rows, d}, rng);
  Tensor w = Tensor::ones({d}), b = Tensor::zeros({d});
  ops::layer_norm(x, w, b);  // warm-up: the first pass faults in fresh pages for the allocator cache
  for (auto _ : state) benchmark::DoNotOptimize(ops::layer_norm(x, w, b).data<float>());
  set_bandwidth(state, 2, rows * d);
}

void BM_LayerNormForwardBackward(benchmark::State& state) {
  const int64_t rows = state.range(0), d = state.range(1);
  Rng rng(1);
  Tensor x = Tensor::randn({rows, d}, rng).set_requires_grad();
  Tensor w = Tensor::ones({d}).set_requires_grad(), b = Tensor::zeros({d}).set_requires_grad();
  Tensor g = Tensor::randn({rows, d}, rng);
  auto step = [&] {
    ops::layer_norm(x, w, b).backward(g);
    x.zero_grad();
    w.zero_grad();
    b.zero_grad();
  };
  step();  // warm-up
  for (auto _ : state) step();
  set_bandwidth(state, 5, rows * d);
}

void BM_SoftmaxForward(benchmark::State& state) {
  const int64_t rows = state.range(0), d = state.range(1);
  Rng rng(1);
  Tensor x = Tensor::randn({rows, d}, rng);
  ops::softmax(x, -1);  // warm-up
  for (auto _ : state) benchmark::DoNotOptimize(ops::softmax(x, -1).data<float>());
  set_bandwidth(state, 2, rows * d);
}

void BM_SoftmaxForwardBackward(benchmark::State& state) {
  const int64_t rows = state.range(0), d = state.range(1);
  Rng rng(1);
  Tensor x = Tensor::randn({rows, d}, rng).set_requires_grad();
  Tensor g = Tensor::randn({rows, d}, rng);
  auto step = [&] {
    ops::softmax(x, -1).backward(g);
    x.zero_grad();
  };
  step();  // warm-up
  for (auto _ : state) step();
  set_bandwidth(state, 5, rows * d);
}

void norm_shapes(benchmark::internal::Benchmark* b) {
  b->Args({2048, 256})->Args({4096, 1024})->ArgNames({"rows", "d"})->Unit(benchmark::kMicrosecond)->UseRealTime();
}

BENCHMARK(BM_LayerNormForward)->Apply(norm_shapes);
BENCHMARK(BM_LayerNormForwardBackward)->Apply(norm_shapes);
BENCHMARK(BM_SoftmaxForward)->Apply(norm_shapes);
BENCHMARK(BM_SoftmaxForwardBackward)->Apply(norm_shapes);

}  // namespace
