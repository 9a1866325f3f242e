// Private to the runtime: the optimisation loop of `datamux run`.
#pragma once

#include <datamux/runtime/results.hpp>
#include <datamux/runtime/trainer.hpp>

namespace datamux::runtime::detail {

struct TrainStats {
  int64_t steps = 0;
  int64_t examples = 0;   // N * batch per step
  double seconds = 0.0;   // in training steps only (not validation or checkpoints)
};

/// [train] steps of the task's batches with the configured optimizer, schedule and clipping; validation
/// every eval_every steps; the checkpoint (the best by validation accuracy with keep_best, which is
/// then loaded back into the model, or the last). Throws TrainingError when the loss stops being finite.
TrainStats train_model(const PipelineConfig& config, BuiltPipeline& pipeline, ResultsWriter& results, const Logger& log);

}  // namespace datamux::runtime::detail
