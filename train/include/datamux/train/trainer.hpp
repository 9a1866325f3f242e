// datamux/train/trainer.hpp - `datamux run`, `eval` and `validate`. Each is made of the same steps:
// build_pipeline() (task and model), then for `run` the training loop, then the report (final
// evaluation, inference throughput, results.json and the printed summary).
#pragma once

#include <datamux/tasks/metrics.hpp>
#include <datamux/train/model.hpp>
#include <datamux/pipeline/pipeline_config.hpp>
#include <datamux/train/progress.hpp>

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace datamux::runtime {

struct EvalResult {
  Accuracy accuracy;
  double loss = 0.0;
  int64_t examples = 0;
};

struct RunOptions {
  std::string out_dir;     // overrides [output] dir when not empty
  std::string checkpoint;  // eval: weights to load
  bool overwrite = false;  // run: replace a finished run in the output folder
  std::string resume;      // run: continue the interrupted run in this folder (its output folder)
  LogLevel log_level = LogLevel::Info;
};

struct RunSummary {
  std::string out_dir;
  EvalResult final_eval;
  double train_examples_per_s = 0.0;
  double infer_examples_per_s = 0.0;
  double wall_seconds = 0.0;
  int64_t steps_done = 0;
  int interrupted_by = 0;  // SIGINT or SIGTERM when the run stopped early (then nothing was evaluated)
  std::optional<Baseline> baseline;  // the task's simplest predictor on the test split (Task::baseline)
};

/// A pipeline's task and model, built and checked (the plugins fit together), not yet trained. The
/// model's components keep their plugin libraries loaded.
struct BuiltPipeline {
  std::unique_ptr<Task> task;
  std::unique_ptr<MuxModel> model;
  std::vector<std::string> notes;  // for the log, e.g. what [train] init_from loaded
};

/// Applies [model] threads, builds the task and the model through a registry that also searches the
/// pipeline's plugin_paths. Throws InputError for bad input, at the key that holds it, and when the
/// estimated peak memory of training (or with `training` false, of evaluation) exceeds MemAvailable:
/// checked from the shapes before any weight is allocated, and measured on the built model. For
/// training, [train] init_from is loaded (see init_from_partial), so `validate` refuses what `run` would.
BuiltPipeline build_pipeline(const PipelineConfig& config, bool training = true);

/// Trains the pipeline and evaluates it; writes pipeline.toml, model.safetensors and results.json
/// (each atomically) into the output folder, with run.json recording running/done/failed/interrupted
/// (see docs/runs.md). Everything is checked before the folder is touched; a folder holding a finished
/// run is refused without `overwrite`. SIGINT/SIGTERM stop at the next step: the checkpoint and results
/// are saved marked interrupted and the summary's interrupted_by says which signal. Throws InputError
/// for bad input, TrainingError when the loss stops being finite.
RunSummary run_pipeline(const PipelineConfig& config, const RunOptions& options);

/// Multiplexed rows per evaluation step: [eval] batch, or [train] batch when that is 0.
int64_t eval_batch(const PipelineConfig& config);

/// Loads `options.checkpoint` into the pipeline's model and evaluates it; writes results.json.
RunSummary eval_pipeline(const PipelineConfig& config, const RunOptions& options);

class TrainingError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace datamux::runtime
