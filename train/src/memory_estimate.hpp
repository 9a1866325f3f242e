// Private to the runtime: will a pipeline fit in this machine's memory? Checked before anything is
// allocated (from the task's shapes), and again once the model is built (its exact weights, and the
// activations of one probe row scaled to the batch), so `validate` and `run` refuse a pipeline that
// would end in std::bad_alloc or the OOM killer, with the estimate in the message.
#pragma once

#include <datamux/train/model.hpp>
#include <datamux/pipeline/pipeline_config.hpp>
#include <datamux/tasks/task.hpp>

#include <cstdint>
#include <string>

namespace datamux::runtime::detail {

/// MemAvailable of /proc/meminfo in bytes (the environment variable DATAMUX_MEMORY_AVAILABLE, in bytes,
/// overrides it, e.g. to leave room for other work); 0 when unknown (then nothing is refused).
uint64_t available_memory_bytes();

struct MemoryEstimate {
  uint64_t weights = 0;      // parameters and buffers
  uint64_t optimizer = 0;    // gradients and optimizer slots (training only)
  uint64_t activations = 0;  // one training or evaluation step at its batch size
  uint64_t data = 0;         // generated evaluation data (the retrieval task)
  uint64_t total() const { return weights + optimizer + activations + data; }
  /// "weights 0.30 GB, gradients and optimizer state 0.90 GB, ...".
  std::string describe() const;
};

/// From the task's shapes only, before any weight exists: the token embedding (and for retrieval its
/// decoder), one step's embedded batch, the evaluation data. A lower bound of the real need.
MemoryEstimate estimate_from_shapes(const PipelineConfig& config, const BuildContext& task_shapes, bool training);

/// With the model built: its weights as they are, gradients and optimizer slots, and the activations
/// of a one-row forward and backward pass (evaluation mode: no randomness is drawn) times the batch.
MemoryEstimate estimate_built(const PipelineConfig& config, MuxModel& model, const Task& task, bool training);

/// Throws InputError when `estimate` exceeds the available memory, naming both and what to reduce.
/// `when` says which estimate it is ("before building the model", ...).
void require_memory(const MemoryEstimate& estimate, bool training, const std::string& when);

}  // namespace datamux::runtime::detail
