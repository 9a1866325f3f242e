// datamux/runtime/trainer.hpp - `datamux run` and `datamux eval`: train, evaluate, write results.
#pragma once

#include <datamux/runtime/metrics.hpp>
#include <datamux/runtime/model.hpp>
#include <datamux/runtime/pipeline_config.hpp>
#include <datamux/runtime/progress.hpp>

#include <functional>
#include <string>
#include <vector>

namespace datamux::runtime {

struct EvalResult {
  Accuracy accuracy;
  double loss = 0.0;
  int64_t examples = 0;
};

struct RunOptions {
  std::string out_dir;          // overrides [output] dir when not empty
  std::string checkpoint;       // eval: weights to load
  bool quiet = false;           // no progress output (tests); same as log_level Quiet
  LogLevel log_level = LogLevel::Info;
  bool progress_bar = true;     // a bar on a terminal; periodic lines otherwise
};

struct RunSummary {
  std::string out_dir;
  EvalResult final_eval;
  double train_examples_per_s = 0.0;
  double infer_examples_per_s = 0.0;
  double wall_seconds = 0.0;
  int64_t steps_done = 0;
};

/// Evaluates `model` on a held-out split (no graph is recorded).
EvalResult evaluate(MuxModel& model, const Task& task, Split split, int64_t batch);

/// Trains the pipeline and evaluates it; writes pipeline.toml, model.safetensors and results.json
/// (each atomically) into the output folder. Throws InputError for bad input, TrainingError when the
/// loss stops being finite.
RunSummary run_pipeline(const PipelineConfig& config, const RunOptions& options);

/// Loads `options.checkpoint` into the pipeline's model and evaluates it; writes results.json.
RunSummary eval_pipeline(const PipelineConfig& config, const RunOptions& options);

class TrainingError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace datamux::runtime
