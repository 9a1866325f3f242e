// Private to the runtime: the optimisation loop of `datamux run`.
#pragma once

#include <datamux/train/results.hpp>
#include <datamux/train/trainer.hpp>

namespace datamux::runtime::detail {

struct TrainStats {
  int64_t steps = 0;
  int64_t examples = 0;   // N * batch per step
  double seconds = 0.0;   // in training steps only (not validation or checkpoints)
  int interrupted_by = 0; // SIGINT/SIGTERM stopped the loop before [train] steps (checkpoint saved)
};

/// [train] steps of the task's batches with the configured optimizer, schedule and clipping; validation
/// every eval_every steps; the checkpoint (the best by validation accuracy with keep_best, which is
/// then loaded back into the model, or the last). Throws TrainingError when the loss stops being finite.
/// SIGINT/SIGTERM (interrupt.hpp) stop it between steps, after saving the checkpoint and resume state.
/// With `resume`, training continues from the output folder's resume state (resume_state.hpp).
TrainStats train_model(const PipelineConfig& config, BuiltPipeline& pipeline, ResultsWriter& results, const Logger& log,
                       bool resume = false);

}  // namespace datamux::runtime::detail
