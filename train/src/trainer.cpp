// `datamux run` and `datamux eval` as steps: build the pipeline, train it (run only), report.
#include <datamux/core/checkpoint.hpp>
#include <datamux/core/cpu_features.hpp>
#include <datamux/core/memory.hpp>
#include <datamux/core/precision.hpp>
#include <datamux/train/results.hpp>
#include <datamux/train/trainer.hpp>

#include <fmt/format.h>
#include <omp.h>

#include <chrono>

#include "checkpoint_checks.hpp"
#include "evaluation.hpp"
#include "interrupt.hpp"
#include "memory_estimate.hpp"
#include "run_state.hpp"
#include "train_loop.hpp"

namespace datamux::runtime {
namespace {

using Clock = std::chrono::steady_clock;

std::string output_dir(const PipelineConfig& c, const RunOptions& opt) {
  return opt.out_dir.empty() ? c.output.get_string("dir") : opt.out_dir;
}

// What the run is: the task and model lines, and at debug level the build context and every state
// tensor (checkpoint keys, shapes, trainable or fixed).
void describe(const Logger& log, const BuiltPipeline& p) {
  const MuxModel& model = *p.model;
  log.line(fmt::format("task    {}", p.task->summary()));
  log.line(fmt::format("model   N = {}: {} ({} parameters)", model.context().instances, model.summary(),
                       model.parameter_count()));
  if (matmul_precision() == MatmulPrecision::bf16)
    log.line(effective_matmul_precision() == MatmulPrecision::bf16
                 ? fmt::format("dtype   bf16 matmul inputs, f32 accumulation and master weights (CPU: {})",
                               cpu_features_string())
                 : fmt::format("dtype   bf16 requested, but this CPU has neither AVX512-BF16 nor AMX-BF16 (CPU: {}): "
                               "running f32",
                               cpu_features_string()));
  if (!log.debug_enabled()) return;
  const BuildContext& x = model.context();
  log.debug(fmt::format("context N={} input={} dim={} hidden={} seq_len={} prefix_len={} vocab={} classes={} image={}x{}x{}",
                        x.instances, input_kind_name(x.input), x.dim, x.hidden, x.seq_len, x.prefix_len, x.vocab,
                        x.num_classes, x.channels, x.height, x.width));
  for (const auto& [name, t] : model.named_parameters()) log.debug(fmt::format("param  {} {}", name, shape_str(t.shape())));
  for (const auto& [name, t] : model.named_buffers()) log.debug(fmt::format("buffer {} {} (fixed)", name, shape_str(t.shape())));
}

// The last step of run and eval: the final evaluation on [eval] split, inference throughput,
// results.json and the printed report.
RunSummary report(const PipelineConfig& c, BuiltPipeline& p, const ResultsWriter& results, const Logger& log,
                  const detail::TrainStats& trained, const std::string& out_dir, Clock::time_point wall0) {
  RunSummary s;
  s.out_dir = out_dir;
  s.steps_done = trained.steps;
  const Split split = c.eval.get_string("split") == "test" ? Split::Test : Split::Validation;
  const int64_t batch = eval_batch(c);
  s.final_eval = detail::evaluate(*p.model, *p.task, split, batch);
  if (trained.seconds > 0) s.train_examples_per_s = static_cast<double>(trained.examples) / trained.seconds;
  s.infer_examples_per_s = detail::inference_throughput(*p.model, *p.task, batch, c.eval.get_int("throughput_steps"));
  s.wall_seconds = std::chrono::duration<double>(Clock::now() - wall0).count();
  if (split == Split::Test) s.baseline = p.task->baseline();  // baselines are scored on the test split
  results.write_results(s, split, memory_stats().peak_bytes);
  log.report(s, split, p.model->context().instances);
  return s;
}

}  // namespace

int64_t eval_batch(const PipelineConfig& c) {
  const int64_t b = c.eval.get_int("batch");
  return b > 0 ? b : c.train.get_int("batch");
}

BuiltPipeline build_pipeline(const PipelineConfig& c, bool training) {
  if (const int64_t t = c.model.get_int("threads"); t > 0) omp_set_num_threads(static_cast<int>(t));
  // Process-wide, so every build sets it: a bf16 pipeline never leaks its precision into the next one.
  set_matmul_precision(c.model.get_string("dtype") == "bf16" ? MatmulPrecision::bf16 : MatmulPrecision::f32);
  BuiltPipeline p;
  p.task = make_task(c);
  // Memory is checked from the shapes before any weight is allocated, then measured on the built model.
  BuildContext shapes;
  shapes.instances = c.model.get_int("instances");
  p.task->describe(shapes);
  detail::require_memory(detail::estimate_from_shapes(c, shapes, training), training, "(a lower bound, from the shapes alone)");
  Registry registry = Registry::with_default_paths();
  for (const auto& path : c.plugin_paths) registry.add_search_path(path);
  try {
    p.model = std::make_unique<MuxModel>(c, *p.task, registry);
  } catch (const std::bad_alloc&) {
    throw InputError(fmt::format("the model's weights do not fit in memory ({} available); reduce [model] hidden, "
                                 "instances or the plugins' sizes",
                                 fmt::format("{:.2f} GB", static_cast<double>(detail::available_memory_bytes()) / 1e9)));
  }
  detail::require_memory(detail::estimate_built(c, *p.model, *p.task, training), training, "(measured on the built model)");
  if (training && !c.train.get_string("init_from").empty()) p.notes = detail::apply_init_from(*p.model, c);
  return p;
}

RunSummary run_pipeline(const PipelineConfig& c, const RunOptions& opt) {
  const auto wall0 = Clock::now();
  const Logger log(opt.log_level);
  const bool resume = !opt.resume.empty();
  const std::string out_dir = resume ? opt.resume : output_dir(c, opt);
  // Everything is checked before the output folder is touched: the folder may be written, then the
  // pipeline builds (data, plugins, memory, init_from).
  detail::RunState::check(out_dir, opt.overwrite, resume);
  if (resume) detail::require_same_pipeline(out_dir, c.resolved_toml);
  const detail::InterruptGuard interrupts;
  BuiltPipeline p = build_pipeline(c);
  detail::RunState state(out_dir, opt.overwrite, resume);
  ResultsWriter results(out_dir, c);
  results.write_pipeline();
  describe(log, p);
  for (const std::string& note : p.notes) log.line(note);
  detail::TrainStats trained;
  try {
    trained = detail::train_model(c, p, results, log, resume);
    if (trained.interrupted_by != 0) {
      RunSummary s;
      s.out_dir = out_dir;
      s.steps_done = trained.steps;
      s.interrupted_by = trained.interrupted_by;
      s.wall_seconds = std::chrono::duration<double>(Clock::now() - wall0).count();
      const std::string sig = detail::signal_name(trained.interrupted_by);
      results.write_interrupted(s, sig);
      state.interrupted(sig, trained.steps);
      log.line(fmt::format("{} at step {}: checkpoint and results saved in {} (state \"interrupted\"); continue with "
                           "datamux run {} --resume {}",
                           sig, trained.steps, out_dir, c.path, out_dir));
      return s;
    }
    RunSummary s = report(c, p, results, log, trained, out_dir, wall0);
    state.done();
    return s;
  } catch (const std::exception& e) {
    state.failed(e.what());
    throw;
  }
}

RunSummary eval_pipeline(const PipelineConfig& c, const RunOptions& opt) {
  const auto wall0 = Clock::now();
  if (opt.checkpoint.empty()) throw InputError("eval needs --checkpoint FILE (a model.safetensors written by `datamux run`)");
  const Logger log(opt.log_level);
  BuiltPipeline p = build_pipeline(c, /*training=*/false);
  if (std::string note = detail::require_checkpoint_task_state(*p.task, opt.checkpoint, c); !note.empty())
    log.line(note);
  load_into(*p.model, opt.checkpoint, /*strict=*/true);
  describe(log, p);
  const std::string out_dir = output_dir(c, opt);
  const ResultsWriter results(out_dir, c);
  return report(c, p, results, log, detail::TrainStats{}, out_dir, wall0);
}

}  // namespace datamux::runtime
