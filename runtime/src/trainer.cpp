// The training and evaluation loops behind `datamux run` and `datamux eval`.
#include <datamux/core/atomic_file.hpp>
#include <datamux/core/checkpoint.hpp>
#include <datamux/core/memory.hpp>
#include <datamux/core/optim.hpp>
#include <datamux/core/schedule.hpp>
#include <datamux/runtime/progress.hpp>
#include <datamux/runtime/results.hpp>
#include <datamux/runtime/trainer.hpp>

#include <fmt/format.h>
#include <omp.h>

#include <chrono>
#include <cmath>
#include <filesystem>

namespace datamux::runtime {
namespace fs = std::filesystem;
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

int64_t eval_batch(const PipelineConfig& c) {
  const int64_t b = c.eval.get_int("batch");
  return b > 0 ? b : c.train.get_int("batch");
}

std::unique_ptr<Optimizer> make_optimizer(const PipelineConfig& c, const Module& model) {
  const std::string& kind = c.train.get_string("optimizer");
  const float lr = static_cast<float>(c.train.get_float("lr"));
  const float wd = static_cast<float>(c.train.get_float("weight_decay"));
  if (kind == "sgd") {
    SGDOptions o;
    o.lr = lr;
    o.momentum = static_cast<float>(c.train.get_float("momentum"));
    o.weight_decay = wd;
    return std::make_unique<SGD>(model.named_parameters(), o);
  }
  AdamWOptions o;
  o.lr = lr;
  o.beta1 = static_cast<float>(c.train.get_float("beta1"));
  o.beta2 = static_cast<float>(c.train.get_float("beta2"));
  o.weight_decay = wd;
  return std::make_unique<AdamW>(model.named_parameters(), o);
}

std::unique_ptr<LrSchedule> make_schedule(const PipelineConfig& c) {
  const double lr = c.train.get_float("lr");
  const int64_t warmup = c.train.get_int("warmup_steps"), total = c.train.get_int("steps");
  const std::string& kind = c.train.get_string("schedule");
  if (kind == "cosine") return std::make_unique<WarmupCosine>(lr, warmup, total);
  if (kind == "linear") return std::make_unique<WarmupLinear>(lr, warmup, total);
  return std::make_unique<WarmupConstant>(lr, warmup);
}

void apply_threads(const PipelineConfig& c) {
  const int64_t t = c.model.get_int("threads");
  if (t > 0) omp_set_num_threads(static_cast<int>(t));
}

Registry make_registry(const PipelineConfig& c) {
  Registry reg = Registry::with_default_paths();
  for (const auto& p : c.plugin_paths) reg.add_search_path(p);
  return reg;
}

std::vector<std::pair<std::string, std::string>> checkpoint_metadata(const PipelineConfig& c, const Task& task,
                                                                     int64_t step) {
  auto meta = task.metadata();
  meta.emplace_back("datamux.pipeline", c.resolved_toml);
  meta.emplace_back("datamux.step", std::to_string(step));
  return meta;
}

// Times inference alone: forward passes with no graph, on one held-out batch.
double inference_throughput(MuxModel& model, const Task& task, int64_t batch, int64_t steps) {
  auto batches = task.eval_batches(Split::Test, model.context().instances, batch);
  if (batches.empty()) return 0.0;
  NoGradGuard no_grad;
  model.eval();
  model.forward(batches[0]);  // warm-up: primitive creation and the allocator cache
  const auto t0 = Clock::now();
  int64_t examples = 0;
  for (int64_t s = 0; s < steps; ++s) {
    const Batch& b = batches[static_cast<std::size_t>(s) % batches.size()];
    model.forward(b);
    examples += b.inputs.size(0) * b.inputs.size(1);
  }
  return static_cast<double>(examples) / std::max(seconds_since(t0), 1e-9);
}

// Debug level: the build context and every state tensor (checkpoint keys, shapes, trainable or fixed).
void describe_model(const Logger& log, const MuxModel& model) {
  if (!log.debug_enabled()) return;
  const BuildContext& x = model.context();
  log.debug(fmt::format("context N={} input={} dim={} hidden={} seq_len={} prefix_len={} vocab={} classes={} image={}x{}x{}",
                        x.instances, input_kind_name(x.input), x.dim, x.hidden, x.seq_len, x.prefix_len, x.vocab,
                        x.num_classes, x.channels, x.height, x.width));
  for (const auto& [name, t] : model.named_parameters()) log.debug(fmt::format("param  {} {}", name, shape_str(t.shape())));
  for (const auto& [name, t] : model.named_buffers()) log.debug(fmt::format("buffer {} {} (fixed)", name, shape_str(t.shape())));
}

}  // namespace

EvalResult evaluate(MuxModel& model, const Task& task, Split split, int64_t batch) {
  NoGradGuard no_grad;
  const bool was_training = model.is_training();
  model.eval();
  EvalResult r;
  double loss_sum = 0.0;
  int64_t loss_batches = 0;
  for (const Batch& b : task.eval_batches(split, model.context().instances, batch)) {
    ModelOutput out = model.forward(b);
    r.accuracy.merge(accuracy(out.main, model.context().instances));
    loss_sum += out.main.loss.item();
    ++loss_batches;
    r.examples += b.examples;
  }
  r.loss = loss_batches ? loss_sum / static_cast<double>(loss_batches) : 0.0;
  model.train(was_training);
  return r;
}

RunSummary run_pipeline(const PipelineConfig& c, const RunOptions& opt) {
  const auto wall0 = Clock::now();
  apply_threads(c);
  RunSummary summary;
  summary.out_dir = opt.out_dir.empty() ? c.output.get_string("dir") : opt.out_dir;
  ResultsWriter results(summary.out_dir, c);
  results.write_pipeline();

  std::unique_ptr<Task> task = make_task(c);
  Registry registry = make_registry(c);
  MuxModel model(c, *task, registry);
  Logger log(opt.quiet, opt.log_level);
  log.line(fmt::format("task    {}", task->summary()));
  describe_model(log, model);
  log.line(fmt::format("model   N = {}: {} ({} parameters)", model.context().instances, model.summary(),
                       model.parameter_count()));
  const std::string init = c.train.get_string("init_from");
  if (!init.empty()) {
    LoadReport rep = load_into(model, init, /*strict=*/false);
    log.line(fmt::format("init    {} tensors from {} ({} not in the checkpoint kept their initialisation)", rep.loaded,
                         init, rep.missing.size()));
  }

  const int64_t steps = c.train.get_int("steps");
  const int64_t batch = c.train.get_int("batch");
  const int64_t n = model.context().instances;
  const int64_t eval_every = c.train.get_int("eval_every");
  const float clip = static_cast<float>(c.train.get_float("clip_norm"));
  const bool save = c.output.get_bool("save_checkpoint");
  const bool keep_best = c.output.get_bool("keep_best") && eval_every > 0;
  auto optimizer = make_optimizer(c, model);
  auto schedule = make_schedule(c);
  std::vector<Tensor> params = model.parameters();

  const bool quiet = opt.quiet || opt.log_level == LogLevel::Quiet;
  Progress progress(steps, c.train.get_int("log_every"), quiet, opt.progress_bar);
  log.debug(fmt::format("optimizer {} lr {} ({} schedule, {} warm-up steps), clip_norm {}", c.train.get_string("optimizer"),
                        c.train.get_float("lr"), c.train.get_string("schedule"), c.train.get_int("warmup_steps"), clip));
  double best_val = -1.0;
  double train_seconds = 0.0;
  int64_t train_examples = 0;
  Accuracy window;
  double window_loss = 0.0;
  int64_t window_steps = 0;
  model.train();
  for (int64_t step = 1; step <= steps; ++step) {
    const auto t0 = Clock::now();
    Batch b = task->next_train_batch(n, batch);
    optimizer->set_lr(schedule->lr_at(step - 1));
    ModelOutput out = model.forward(b);
    const float loss = out.loss.item();
    if (!std::isfinite(loss))
      throw TrainingError(fmt::format("training stopped at step {}: the loss is {} (try a lower [train] lr or "
                                      "clip_norm); {}",
                                      step, loss, results.checkpoint_note()));
    out.loss.backward();
    if (clip > 0.f) clip_grad_norm(params, clip);
    optimizer->step();
    model.zero_grad();
    train_seconds += seconds_since(t0);
    train_examples += n * batch;

    window.merge(accuracy(out.main, 0));
    window_loss += loss;
    ++window_steps;
    if (progress.due(step)) {
      progress.update(step, window_loss / static_cast<double>(window_steps), window.value(),
                      static_cast<double>(train_examples) / std::max(train_seconds, 1e-9));
      window = Accuracy();
      window_loss = 0.0;
      window_steps = 0;
    }
    if (eval_every > 0 && (step % eval_every == 0 || step == steps)) {
      const auto te = Clock::now();
      EvalResult v = evaluate(model, *task, Split::Validation, eval_batch(c));
      log.debug(fmt::format("validation of {} examples took {:.2f} s", v.examples, seconds_since(te)));
      progress.message(fmt::format("step {:>6}  validation accuracy {:.4f}  loss {:.4f}", step, v.accuracy.value(), v.loss));
      if (save && keep_best && v.accuracy.value() > best_val) {
        best_val = v.accuracy.value();
        results.write_checkpoint(model, checkpoint_metadata(c, *task, step));
      }
    }
  }
  progress.finish();
  summary.steps_done = steps;
  if (save && !keep_best) results.write_checkpoint(model, checkpoint_metadata(c, *task, steps));
  if (save && keep_best && best_val >= 0.0) {
    LoadReport rep = load_into(model, results.checkpoint_path(), /*strict=*/true);
    (void)rep;
    log.line(fmt::format("best    validation accuracy {:.4f}: evaluating that checkpoint", best_val));
  }

  const Split split = c.eval.get_string("split") == "test" ? Split::Test : Split::Validation;
  summary.final_eval = evaluate(model, *task, split, eval_batch(c));
  summary.train_examples_per_s = static_cast<double>(train_examples) / std::max(train_seconds, 1e-9);
  summary.infer_examples_per_s = inference_throughput(model, *task, eval_batch(c), c.eval.get_int("throughput_steps"));
  summary.wall_seconds = seconds_since(wall0);
  results.write_results(summary, split, memory_stats().peak_bytes);
  log.report(summary, split, n);
  return summary;
}

RunSummary eval_pipeline(const PipelineConfig& c, const RunOptions& opt) {
  const auto wall0 = Clock::now();
  apply_threads(c);
  if (opt.checkpoint.empty()) throw InputError("eval needs --checkpoint FILE (a model.safetensors written by `datamux run`)");
  RunSummary summary;
  summary.out_dir = opt.out_dir.empty() ? c.output.get_string("dir") : opt.out_dir;
  std::unique_ptr<Task> task = make_task(c);
  Registry registry = make_registry(c);
  MuxModel model(c, *task, registry);
  load_into(model, opt.checkpoint, /*strict=*/true);
  Logger log(opt.quiet, opt.log_level);
  describe_model(log, model);
  const Split split = c.eval.get_string("split") == "test" ? Split::Test : Split::Validation;
  summary.final_eval = evaluate(model, *task, split, eval_batch(c));
  summary.infer_examples_per_s = inference_throughput(model, *task, eval_batch(c), c.eval.get_int("throughput_steps"));
  summary.wall_seconds = seconds_since(wall0);
  ResultsWriter results(summary.out_dir, c);
  results.write_results(summary, split, memory_stats().peak_bytes);
  log.report(summary, split, model.context().instances);
  return summary;
}

}  // namespace datamux::runtime
