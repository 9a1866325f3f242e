// Private to the runtime: loading weights a pipeline names ([train] init_from, `eval --checkpoint`)
// without silently losing any. A partial init_from is an error unless [train] init_from_partial = true,
// a checkpoint of which nothing fits is always one, and `eval` checks that the checkpoint's tokenizer
// and labels are the ones the pipeline's data gives (the ids it was trained with).
#pragma once

#include <datamux/train/model.hpp>
#include <datamux/pipeline/pipeline_config.hpp>
#include <datamux/tasks/task.hpp>

#include <string>
#include <vector>

namespace datamux::runtime::detail {

/// Copies [train] init_from's tensors into `model`. Returns the lines for the log: what was loaded and,
/// with init_from_partial, what kept its initialisation and why (missing, other shape, not in the model),
/// with shapes. Throws InputError, with the model unchanged, when nothing matches, or when something does
/// not and init_from_partial is false.
std::vector<std::string> apply_init_from(MuxModel& model, const PipelineConfig& config);

/// Throws InputError naming the checkpoint and the pipeline when the checkpoint stores a tokenizer or
/// labels (datamux.tokenizer, datamux.labels) that differ from `task`'s: evaluating would read the test
/// data with other ids than the model was trained on. Returns a note for the log when the checkpoint
/// stores none (a foreign file), else "".
std::string require_checkpoint_task_state(const Task& task, const std::string& checkpoint, const PipelineConfig& config);

}  // namespace datamux::runtime::detail
