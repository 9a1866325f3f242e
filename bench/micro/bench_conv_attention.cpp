// Convolution, pooling and attention benchmarks at the sizes datamux trains: LeNet-style layers on
// 28x28 images (batch 64) and transformer attention (B=16, H=4, L=128, D=64, hidden 256), with
// GFLOP/s counters (forward+backward counts the two backward convolutions / four backward GEMMs).
#include "bench_common.hpp"

#include <datamux/ops.hpp>

namespace datamux::bench {
namespace {

double conv_flops(int64_t b, int64_t c, int64_t o, int64_t oh, int64_t ow, int64_t k) { return 2.0 * b * o * oh * ow * c * k * k; }

// Args: batch, in channels, size, out channels, kernel, padding.
void BM_Conv2d_Fwd(benchmark::State& state) {
  const int64_t b = state.range(0), c = state.range(1), hw = state.range(2), o = state.range(3), k = state.range(4), p = state.range(5);
  Rng rng(1);
  Tensor x = Tensor::randn({b, c, hw, hw}, rng), w = Tensor::randn({o, c, k, k}, rng), bias = Tensor::randn({o}, rng);
  for (auto _ : state) benchmark::DoNotOptimize(ops::conv2d(x, w, bias, 1, p));
  const int64_t out = hw + 2 * p - k + 1;
  set_gflops(state, conv_flops(b, c, o, out, out, k));
}

void BM_Conv2d_FwdBwd(benchmark::State& state) {
  const int64_t b = state.range(0), c = state.range(1), hw = state.range(2), o = state.range(3), k = state.range(4), p = state.range(5);
  Rng rng(1);
  Tensor x = Tensor::randn({b, c, hw, hw}, rng).set_requires_grad();
  Tensor w = Tensor::randn({o, c, k, k}, rng).set_requires_grad();
  Tensor bias = Tensor::randn({o}, rng).set_requires_grad();
  const int64_t out = hw + 2 * p - k + 1;
  Tensor dy = Tensor::randn({b, o, out, out}, rng);
  for (auto _ : state) {
    x.zero_grad(), w.zero_grad(), bias.zero_grad();
    ops::conv2d(x, w, bias, 1, p).backward(dy);
  }
  set_gflops(state, 3.0 * conv_flops(b, c, o, out, out, k));
}

void BM_MaxPool2d_FwdBwd(benchmark::State& state) {
  const int64_t b = state.range(0), c = state.range(1), hw = state.range(2);
  Rng rng(1);
  Tensor x = Tensor::randn({b, c, hw, hw}, rng).set_requires_grad();
  Tensor dy = Tensor::randn({b, c, hw / 2, hw / 2}, rng);
  for (auto _ : state) {
    x.zero_grad();
    ops::max_pool2d(x, 2).backward(dy);
  }
  state.SetBytesProcessed(state.iterations() * b * c * hw * hw * 4 * 2);
}

double attention_flops(int64_t b, int64_t h, int64_t l, int64_t d) { return 4.0 * b * h * l * l * d; }

struct AttentionInputs {
  Tensor q, k, v, mask;
};

// q, k, v as a transformer produces them: [B, L, H, D] projections viewed as [B, H, L, D]; a quarter of
// every sequence is padding.
AttentionInputs attention_inputs(int64_t b, int64_t h, int64_t l, int64_t d, bool grad) {
  Rng rng(1);
  AttentionInputs in;
  for (Tensor* t : {&in.q, &in.k, &in.v}) {
    Tensor base = Tensor::randn({b, l, h, d}, rng);
    if (grad) base.set_requires_grad();
    *t = base.permute({0, 2, 1, 3});
  }
  std::vector<float> m(static_cast<std::size_t>(b * l), 1.f);
  for (int64_t i = 0; i < b; ++i)
    for (int64_t j = l - l / 4; j < l; ++j) m[static_cast<std::size_t>(i * l + j)] = 0.f;
  in.mask = Tensor::from_vector(m, {b, l});
  return in;
}

void BM_Attention_Fwd(benchmark::State& state) {
  const int64_t b = state.range(0), h = state.range(1), l = state.range(2), d = state.range(3);
  AttentionInputs in = attention_inputs(b, h, l, d, false);
  for (auto _ : state) benchmark::DoNotOptimize(ops::scaled_dot_product_attention(in.q, in.k, in.v, in.mask));
  set_gflops(state, attention_flops(b, h, l, d));
}

void BM_Attention_FwdBwd(benchmark::State& state) {
  const int64_t b = state.range(0), h = state.range(1), l = state.range(2), d = state.range(3);
  AttentionInputs in = attention_inputs(b, h, l, d, true);
  Rng rng(2);
  Tensor dy = Tensor::randn({b, h, l, d}, rng);
  for (auto _ : state) {
    Tensor out = ops::scaled_dot_product_attention(in.q, in.k, in.v, in.mask);
    out.backward(dy);
  }
  set_gflops(state, 3.0 * attention_flops(b, h, l, d));
}

}  // namespace

BENCHMARK(BM_Conv2d_Fwd)->Args({64, 1, 28, 6, 5, 2})->Args({64, 6, 14, 16, 5, 0})->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Conv2d_FwdBwd)->Args({64, 1, 28, 6, 5, 2})->Args({64, 6, 14, 16, 5, 0})->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_MaxPool2d_FwdBwd)->Args({64, 6, 28})->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Attention_Fwd)->Args({16, 4, 128, 64})->Args({32, 4, 64, 64})->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Attention_FwdBwd)->Args({16, 4, 128, 64})->Args({32, 4, 64, 64})->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace datamux::bench
