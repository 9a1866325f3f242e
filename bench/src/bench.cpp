// `datamux bench`: the dispatcher and the op-level groups (linear against raw oneDNN, one Transformer
// encoder layer). The model-level groups (multiplexed inference, training step) are in bench_models.cpp.
#include <datamux/core/onednn_info.hpp>
#include <datamux/core/precision.hpp>
#include <datamux/error.hpp>
#include <datamux/ops.hpp>
#include <datamux/registry.hpp>
#include <datamux/bench/bench.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <set>

#include "bench_models.hpp"
#include "bench_timing.hpp"

namespace datamux::runtime {
namespace bench_detail {
namespace {

struct LinearShape {
  int64_t m, k, n;
};

// The GEMM shapes of the encoder layer and the heads: FFN up and down projections over 32 x 64
// tokens, and a square projection.
std::vector<LinearShape> linear_shapes(BenchSize size) {
  if (size == BenchSize::Smoke) return {{64, 32, 48}};
  return {{2048, 256, 1024}, {2048, 1024, 256}, {2048, 256, 256}};
}

void run_linear(const BenchOptions& o, std::vector<BenchRow>& rows) {
  for (const LinearShape& s : linear_shapes(o.size)) {
    Rng rng(1);
    Tensor x = Tensor::randn({s.m, s.k}, rng);
    Tensor w = Tensor::randn({s.n, s.k}, rng, 0.f, 0.05f);
    Tensor b = Tensor::randn({s.n}, rng);
    Tensor dy = Tensor::randn({s.m, s.n}, rng);
    RawOneDnnLinear raw(s.m, s.k, s.n);
    const std::string dims = fmt::format("{}x{}x{}", s.m, s.k, s.n);
    const double flops = 2.0 * static_cast<double>(s.m * s.k * s.n);
    const Budget budget = budget_for(o.size, 0.5);

    {  // inference forward: no graph, bias fused
      BenchRow row{"linear", "fwd " + dims};
      if (o.progress) o.progress("linear " + row.name);
      auto ours = [&] {
        NoGradGuard no_grad;
        Tensor y = ops::linear(x, w, b);
      };
      account(row, [&] { time_pair(ours, [&] { raw.forward(); }, budget, &row.ms, &row.baseline_ms, &row.iterations); },
              ours, 5);
      row.gflops = flops / row.ms * 1e-9;
      row.ms *= 1e3, row.baseline_ms *= 1e3;
      row.ratio = row.baseline_ms / row.ms;
      rows.push_back(row);
    }
    {  // training: forward + both backward GEMMs (and the bias gradient)
      x.set_requires_grad(true), w.set_requires_grad(true), b.set_requires_grad(true);
      BenchRow row{"linear", "fwd+bwd " + dims};
      if (o.progress) o.progress("linear " + row.name);
      auto ours = [&] {
        x.zero_grad(), w.zero_grad(), b.zero_grad();
        ops::linear(x, w, b).backward(dy);
      };
      account(row,
              [&] { time_pair(ours, [&] { raw.forward_backward(); }, budget, &row.ms, &row.baseline_ms, &row.iterations); },
              ours, 5);
      row.gflops = 3.0 * flops / row.ms * 1e-9;
      row.ms *= 1e3, row.baseline_ms *= 1e3;
      row.ratio = row.baseline_ms / row.ms;
      rows.push_back(row);
      x.set_requires_grad(false), w.set_requires_grad(false), b.set_requires_grad(false);
    }
  }
}

// FLOPs of one post-LN encoder layer forward (GEMMs only): Q, K, V, out projections, the two FFN
// matmuls, and the two attention products.
double encoder_flops(const EncoderShape& s) {
  const double tokens = static_cast<double>(s.batch * s.length);
  const double proj = 2.0 * tokens * s.hidden * s.hidden * 4;
  const double ffn = 2.0 * tokens * s.hidden * s.ffn * 2;
  const double attn = 2.0 * 2.0 * static_cast<double>(s.batch) * s.length * s.length * s.hidden;
  return proj + ffn + attn;
}

void run_encoder(const BenchOptions& o, Registry& registry, std::vector<BenchRow>& rows) {
  const EncoderShape s = encoder_shape(o.size);
  std::shared_ptr<Backbone> layer = make_encoder_layer(registry, s);
  Rng rng(2);
  Tensor x = Tensor::randn({s.batch, s.length, s.hidden}, rng);
  Tensor mask = Tensor::ones({s.batch, s.length});
  const double flops = encoder_flops(s);
  const std::string dims = fmt::format("B{} L{} d{} h{} ffn{}", s.batch, s.length, s.hidden, s.heads, s.ffn);
  const Budget budget = budget_for(o.size, 1.0);

  auto add_row = [&](const std::string& name, double flop_factor, const std::function<void()>& step) {
    BenchRow row{"encoder", name + " (" + dims + ")"};
    if (o.progress) o.progress("encoder " + name);
    account(row, [&] { row.ms = time_median(step, budget, &row.iterations); }, step, 5);
    row.gflops = flop_factor * flops / row.ms * 1e-9;
    row.ms *= 1e3;
    rows.push_back(row);
  };
  add_row("inference fwd", 1.0, [&] {
    NoGradGuard no_grad;
    layer->eval();
    Tensor y = layer->forward(x, mask);
  });
  add_row("training fwd", 1.0, [&] {
    layer->train();
    Tensor y = layer->forward(x, mask);  // records the graph (and applies dropout), as a training step does
  });
  Tensor dy = Tensor::randn({s.batch, s.length, s.hidden}, rng);
  add_row("training fwd+bwd", 3.0, [&] {
    layer->train();
    layer->zero_grad();
    layer->forward(x, mask).backward(dy);
  });
  layer->zero_grad();
}

}  // namespace
}  // namespace bench_detail

BenchReport run_bench(const BenchOptions& o) {
  using namespace bench_detail;
  static const std::set<std::string> known{"linear", "encoder", "mux", "train", "profile"};
  for (const std::string& g : o.groups)
    if (!known.count(g))
      throw InputError(fmt::format("bench: unknown group '{}'; the groups are linear, encoder, mux, train, profile", g));
  for (int64_t n : o.instances)
    if (n < 1 || n > 256) throw InputError(fmt::format("bench: N = {} is out of range (1..256)", n));
  if (o.precision != "f32" && o.precision != "bf16")
    throw InputError(fmt::format("bench: precision '{}' is not f32 or bf16", o.precision));
  auto named = [&](const char* g) { return std::count(o.groups.begin(), o.groups.end(), g) > 0; };
  auto wanted = [&](const char* g) { return o.groups.empty() || named(g); };

  const MatmulPrecision previous = matmul_precision();
  set_matmul_precision(o.precision == "bf16" ? MatmulPrecision::bf16 : MatmulPrecision::f32);
  BenchReport report;
  report.host = describe_host();
  report.size = o.size == BenchSize::Full ? "full" : o.size == BenchSize::Quick ? "quick" : "smoke";
  try {
    if (wanted("train")) check_pipeline_exists(o.pipeline);  // fail before minutes of measurement, not after
    Registry registry = Registry::with_default_paths();
    if (wanted("linear")) run_linear(o, report.rows);
    if (wanted("encoder")) run_encoder(o, registry, report.rows);
    if (wanted("mux")) run_mux(o, registry, report.rows);
    if (wanted("train")) run_train(o, report.rows);
    if (named("profile")) run_profile(o, report.rows);
  } catch (...) {
    set_matmul_precision(previous);
    throw;
  }
  set_matmul_precision(previous);
  return report;
}

}  // namespace datamux::runtime
