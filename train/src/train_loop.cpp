// The training loop: optimizer and schedule from [train], progress, validation, checkpoints.
#include "train_loop.hpp"

#include <datamux/core/checkpoint.hpp>
#include <datamux/core/optim.hpp>
#include <datamux/core/schedule.hpp>
#include <fmt/format.h>

#include <chrono>
#include <cmath>

#include "evaluation.hpp"
#include "interrupt.hpp"
#include "metrics_csv.hpp"
#include "resume_state.hpp"

namespace datamux::runtime::detail {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

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

std::vector<std::pair<std::string, std::string>> checkpoint_metadata(const PipelineConfig& c, const Task& task,
                                                                     int64_t step) {
  auto meta = task.metadata();
  meta.emplace_back("datamux.pipeline", c.resolved_toml);
  meta.emplace_back("datamux.step", std::to_string(step));
  return meta;
}

// Training accuracy and loss since the last progress line.
struct Window {
  Accuracy accuracy;
  double loss = 0.0;
  int64_t steps = 0;
};

}  // namespace

TrainStats train_model(const PipelineConfig& c, BuiltPipeline& p, ResultsWriter& results, const Logger& log, bool resume) {
  MuxModel& model = *p.model;
  Task& task = *p.task;
  const int64_t steps = c.train.get_int("steps");
  const int64_t batch = c.train.get_int("batch");
  const int64_t n = model.context().instances;
  const int64_t eval_every = c.train.get_int("eval_every");
  const int64_t log_every = c.train.get_int("log_every");
  const float clip = static_cast<float>(c.train.get_float("clip_norm"));
  const bool save = c.output.get_bool("save_checkpoint");
  const bool keep_best = c.output.get_bool("keep_best") && eval_every > 0;
  auto optimizer = make_optimizer(c, model);
  auto schedule = make_schedule(c);
  std::vector<Tensor> params = model.parameters();

  Progress progress(steps, c.train.get_int("log_every"), !log.enabled());
  log.debug(fmt::format("optimizer {} lr {} ({} schedule, {} warm-up steps), clip_norm {}", c.train.get_string("optimizer"),
                        c.train.get_float("lr"), c.train.get_string("schedule"), c.train.get_int("warmup_steps"), clip));
  MetricsCsv metrics(results.file_path("metrics.csv"), n);
  double best_val = -1.0;
  TrainStats stats;
  Window window;
  model.train();
  const int64_t checkpoint_every = c.train.get_int("checkpoint_every");
  const int64_t first = resume ? load_resume_state(results.dir(), model, *optimizer, task) : 0;
  if (resume) log.line(fmt::format("resume  from step {} of {} ({})", first, steps, results.dir()));
  stats.steps = first;
  const auto started = Clock::now();
  for (int64_t step = first + 1; step <= steps; ++step) {
    if (const int sig = pending_interrupt()) {  // a step boundary: save what is needed to resume
      stats.interrupted_by = sig;
      progress.finish();
      results.write_checkpoint(model, checkpoint_metadata(c, task, stats.steps));
      save_resume_state(results.dir(), model, *optimizer, task, stats.steps);
      return stats;
    }
    const auto t0 = Clock::now();
    Batch b = task.next_train_batch(n, batch);
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
    stats.seconds += seconds_since(t0);
    stats.examples += n * batch;
    stats.steps = step;
    if (checkpoint_every > 0 && step % checkpoint_every == 0 && step < steps)
      save_resume_state(results.dir(), model, *optimizer, task, step);

    window.accuracy.merge(accuracy(out.main, n));
    window.loss += loss;
    ++window.steps;
    // The window (loss and accuracy since the last metrics row) closes every log_every steps, whether
    // or not anything is printed; a progress bar shows the open window's means at every step.
    const double rate = static_cast<double>(stats.examples) / std::max(stats.seconds, 1e-9);
    const double mean_loss = window.loss / static_cast<double>(window.steps);
    if (progress.due(step)) progress.update(step, mean_loss, window.accuracy.value(), rate);
    if (step % log_every == 0 || step == steps) {
      metrics.row(step, "train", mean_loss, window.accuracy, schedule->lr_at(step - 1), rate, seconds_since(started));
      window = Window();
    }
    if (eval_every > 0 && (step % eval_every == 0 || step == steps)) {
      const auto te = Clock::now();
      EvalResult v = evaluate(model, task, Split::Validation, eval_batch(c));
      log.debug(fmt::format("validation of {} examples took {:.2f} s", v.examples, seconds_since(te)));
      progress.message(fmt::format("step {:>6}  validation accuracy {:.4f}  loss {:.4f}", step, v.accuracy.value(), v.loss));
      metrics.row(step, "validation", v.loss, v.accuracy, -1.0, -1.0, seconds_since(started));
      if (save && keep_best && v.accuracy.value() > best_val) {
        best_val = v.accuracy.value();
        results.write_checkpoint(model, checkpoint_metadata(c, task, step));
      }
    }
  }
  progress.finish();
  if (save && !keep_best) results.write_checkpoint(model, checkpoint_metadata(c, task, steps));
  if (save && keep_best && best_val >= 0.0) {
    load_into(model, results.checkpoint_path(), /*strict=*/true);
    log.line(fmt::format("best    validation accuracy {:.4f}: evaluating that checkpoint", best_val));
  }
  return stats;
}

}  // namespace datamux::runtime::detail
