// `datamux bench --group profile`: where the time of one multiplexed inference pass goes, part by part
// (data, embedding + demux.prepare, mux, backbone, demux, head), for a pipeline at each N, so that what
// grows with N (the per-instance parts, the index demux's prefix) shows beside what runs once.
#include <datamux/error.hpp>
#include <datamux/pipeline/pipeline_config.hpp>
#include <datamux/train/trainer.hpp>
#include <fmt/format.h>

#include <chrono>

#include "bench_models.hpp"
#include "bench_timing.hpp"

namespace datamux::runtime::bench_detail {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

struct PassProfile {
  ForwardProfile parts;
  double data = 0;      // seconds per pass to form the batches (task.eval_batches, amortised)
  double examples = 0;  // examples per pass (N * rows)
};

// Builds the pipeline at N (random weights: time does not depend on them), then runs inference passes
// over the test split for about `budget` seconds after one warm-up pass.
PassProfile profile_at(const std::string& pipeline, int64_t n, const std::vector<std::string>& sets, double budget) {
  std::vector<std::string> overrides = sets;
  overrides.push_back(fmt::format("model.instances={}", n));
  const PipelineConfig c = load_pipeline(pipeline, overrides);
  BuiltPipeline p = build_pipeline(c, false);
  const int64_t eb = eval_batch(c);
  const auto t_data = Clock::now();
  const std::vector<Batch> batches = p.task->eval_batches(Split::Test, n, eb);
  const double data_seconds = seconds_since(t_data);
  if (batches.empty()) throw InputError(fmt::format("bench profile: {} has an empty test split", pipeline));
  NoGradGuard no_grad;
  p.model->eval();
  p.model->forward(batches[0]);  // warm-up: primitives and the allocator cache
  PassProfile r;
  p.model->attach_profile(&r.parts);
  const auto t0 = Clock::now();
  std::size_t k = 0;
  do {
    p.model->forward(batches[k++ % batches.size()]);
  } while (seconds_since(t0) < budget || r.parts.passes < 3);
  p.model->attach_profile(nullptr);
  const double passes = static_cast<double>(r.parts.passes);
  for (double* part : {&r.parts.embed, &r.parts.mux, &r.parts.backbone, &r.parts.demux, &r.parts.head}) *part /= passes;
  r.data = data_seconds / static_cast<double>(batches.size());
  r.examples = static_cast<double>(n * eb);
  return r;
}

}  // namespace

void run_profile(const BenchOptions& o, std::vector<BenchRow>& rows) {
  check_pipeline_exists(o.pipeline);
  const std::vector<int64_t> ns = !o.instances.empty() ? o.instances
                                  : o.size == BenchSize::Smoke ? std::vector<int64_t>{1, 2}
                                                               : std::vector<int64_t>{1, 10, 20, 40};
  const double budget = o.size == BenchSize::Full ? 3.0 : o.size == BenchSize::Quick ? 1.0 : 0.1;
  double first_rate = 0;
  for (int64_t n : ns) {
    if (o.progress) o.progress(fmt::format("profile N={}", n));
    const PassProfile r = profile_at(o.pipeline, n, o.sets, budget);
    const ForwardProfile& f = r.parts;
    const double total = r.data + f.embed + f.mux + f.backbone + f.demux + f.head;
    const std::pair<const char*, double> parts[] = {{"data", r.data},         {"embed+prepare", f.embed},
                                                    {"mux", f.mux},           {"backbone", f.backbone},
                                                    {"demux", f.demux},       {"head", f.head}};
    for (const auto& [name, seconds] : parts) {
      BenchRow row{"profile", fmt::format("N={} {}", n, name)};
      row.ms = seconds * 1e3;
      row.ratio = seconds / total;  // share of the pass
      row.instances = n;
      row.iterations = static_cast<int>(f.passes);
      rows.push_back(row);
    }
    BenchRow row{"profile", fmt::format("N={} whole pass", n)};
    row.ms = total * 1e3;
    row.items_per_s = r.examples / total;
    if (first_rate == 0) first_rate = row.items_per_s;
    row.ratio = row.items_per_s / first_rate;  // the multiplier over the first N profiled
    row.instances = n;
    row.iterations = static_cast<int>(f.passes);
    rows.push_back(row);
  }
}

}  // namespace datamux::runtime::bench_detail
