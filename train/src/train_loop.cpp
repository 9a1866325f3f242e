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

// One run of the loop: the settings read once, the optimizer, schedule, metrics and progress, and the
// state that passes from step to step (the window, the best validation accuracy so far).
class TrainLoop {
 public:
  TrainLoop(const PipelineConfig& c, BuiltPipeline& p, ResultsWriter& results, const Logger& log)
      : c_(c),
        model_(*p.model),
        task_(*p.task),
        results_(results),
        log_(log),
        steps_(c.train.get_int("steps")),
        batch_(c.train.get_int("batch")),
        n_(model_.context().instances),
        eval_every_(c.train.get_int("eval_every")),
        log_every_(c.train.get_int("log_every")),
        checkpoint_every_(c.train.get_int("checkpoint_every")),
        clip_(static_cast<float>(c.train.get_float("clip_norm"))),
        save_(c.output.get_bool("save_checkpoint")),
        keep_best_(c.output.get_bool("keep_best") && eval_every_ > 0),
        optimizer_(make_optimizer(c, model_)),
        schedule_(make_schedule(c)),
        params_(model_.parameters()),
        progress_(steps_, log_every_, !log.enabled()),
        metrics_(results.file_path("metrics.csv"), n_) {
    log.debug(fmt::format("optimizer {} lr {} ({} schedule, {} warm-up steps), clip_norm {}", c.train.get_string("optimizer"),
                          c.train.get_float("lr"), c.train.get_string("schedule"), c.train.get_int("warmup_steps"), clip_));
  }

  TrainStats run(bool resume) {
    model_.train();
    const int64_t first = resume ? load_resume_state(results_.dir(), model_, *optimizer_, task_) : 0;
    if (resume) log_.line(fmt::format("resume  from step {} of {} ({})", first, steps_, results_.dir()));
    stats_.steps = first;
    started_ = Clock::now();
    for (int64_t step = first + 1; step <= steps_; ++step) {
      if (const int sig = pending_interrupt()) return stop(sig);
      {  // the step's outputs (and the graph behind them) are freed before validation and the next step
        float loss = 0.f;
        const ModelOutput out = train_step(step, loss);
        record(step, out, loss);
      }
      if (eval_every_ > 0 && (step % eval_every_ == 0 || step == steps_)) validate(step);
    }
    finish();
    return stats_;
  }

 private:
  // A step boundary: save what is needed to resume.
  TrainStats stop(int sig) {
    stats_.interrupted_by = sig;
    progress_.finish();
    results_.write_checkpoint(model_, checkpoint_metadata(c_, task_, stats_.steps));
    save_resume_state(results_.dir(), model_, *optimizer_, task_, stats_.steps);
    return stats_;
  }

  // Forward, backward, optimizer step. A loss that is not finite ends training.
  ModelOutput train_step(int64_t step, float& loss) {
    const auto t0 = Clock::now();
    Batch b = task_.next_train_batch(n_, batch_);
    optimizer_->set_lr(schedule_->lr_at(step - 1));
    ModelOutput out = model_.forward(b);
    loss = out.loss.item();
    if (!std::isfinite(loss))
      throw TrainingError(fmt::format("training stopped at step {}: the loss is {} (try a lower [train] lr or "
                                      "clip_norm); {}",
                                      step, loss, results_.checkpoint_note()));
    out.loss.backward();
    if (clip_ > 0.f) clip_grad_norm(params_, clip_);
    optimizer_->step();
    model_.zero_grad();
    stats_.seconds += seconds_since(t0);
    stats_.examples += n_ * batch_;
    stats_.steps = step;
    if (checkpoint_every_ > 0 && step % checkpoint_every_ == 0 && step < steps_)
      save_resume_state(results_.dir(), model_, *optimizer_, task_, step);
    return out;
  }

  // The window (loss and accuracy since the last metrics row) closes every log_every steps, whether or
  // not anything is printed; a progress bar shows the open window's means at every step.
  void record(int64_t step, const ModelOutput& out, float loss) {
    window_.accuracy.merge(accuracy(out.main, n_));
    window_.loss += loss;
    ++window_.steps;
    const double rate = static_cast<double>(stats_.examples) / std::max(stats_.seconds, 1e-9);
    const double mean_loss = window_.loss / static_cast<double>(window_.steps);
    if (progress_.due(step)) progress_.update(step, mean_loss, window_.accuracy.value(), rate);
    if (step % log_every_ == 0 || step == steps_) {
      metrics_.row(step, "train", mean_loss, window_.accuracy, schedule_->lr_at(step - 1), rate, seconds_since(started_));
      window_ = Window();
    }
  }

  void validate(int64_t step) {
    const auto te = Clock::now();
    EvalResult v = evaluate(model_, task_, Split::Validation, eval_batch(c_));
    log_.debug(fmt::format("validation of {} examples took {:.2f} s", v.examples, seconds_since(te)));
    progress_.message(fmt::format("step {:>6}  validation accuracy {:.4f}  loss {:.4f}", step, v.accuracy.value(), v.loss));
    metrics_.row(step, "validation", v.loss, v.accuracy, -1.0, -1.0, seconds_since(started_));
    if (save_ && keep_best_ && v.accuracy.value() > best_val_) {
      best_val_ = v.accuracy.value();
      results_.write_checkpoint(model_, checkpoint_metadata(c_, task_, step));
    }
  }

  // The last checkpoint, or the best validated one loaded back for the final evaluation.
  void finish() {
    progress_.finish();
    if (save_ && !keep_best_) results_.write_checkpoint(model_, checkpoint_metadata(c_, task_, steps_));
    if (save_ && keep_best_ && best_val_ >= 0.0) {
      load_into(model_, results_.checkpoint_path(), /*strict=*/true);
      log_.line(fmt::format("best    validation accuracy {:.4f}: evaluating that checkpoint", best_val_));
    }
  }

  const PipelineConfig& c_;
  MuxModel& model_;
  Task& task_;
  ResultsWriter& results_;
  const Logger& log_;
  const int64_t steps_, batch_, n_, eval_every_, log_every_, checkpoint_every_;
  const float clip_;
  const bool save_, keep_best_;
  std::unique_ptr<Optimizer> optimizer_;
  std::unique_ptr<LrSchedule> schedule_;
  std::vector<Tensor> params_;
  Progress progress_;
  MetricsCsv metrics_;
  TrainStats stats_;
  Window window_;
  double best_val_ = -1.0;
  Clock::time_point started_;
};

}  // namespace

TrainStats train_model(const PipelineConfig& c, BuiltPipeline& p, ResultsWriter& results, const Logger& log, bool resume) {
  return TrainLoop(c, p, results, log).run(resume);
}

}  // namespace datamux::runtime::detail
