// Private to the runtime: held-out evaluation and the inference timing, shared by the training loop
// (validation) and the final report.
#pragma once

#include <datamux/train/trainer.hpp>

namespace datamux::runtime::detail {

/// Accuracy and mean loss of `model` on a held-out split (no graph is recorded).
EvalResult evaluate(MuxModel& model, const Task& task, Split split, int64_t batch);

/// Examples/s of forward passes alone (no graph) over held-out batches, after one warm-up pass.
double inference_throughput(MuxModel& model, const Task& task, int64_t batch, int64_t steps);

}  // namespace datamux::runtime::detail
