// Private to the runtime: what `datamux run --resume DIR` continues from, resume.safetensors in the
// run folder. It holds the model's tensors ("model." + name), the optimizer's state ("optimizer." +
// name: moments, per-parameter step counts) and in its metadata the step done (the schedule's
// position follows from it), the task's training stream and every random stream of the model
// (dropout, sampling). A run resumed from it draws the same batches and random numbers as one that
// was never stopped, so it ends with the same weights.
#pragma once

#include <datamux/core/optim.hpp>
#include <datamux/train/model.hpp>
#include <datamux/tasks/task.hpp>

#include <cstdint>
#include <string>

namespace datamux::runtime::detail {

/// Writes `dir`/resume.safetensors atomically.
void save_resume_state(const std::string& dir, const MuxModel& model, const Optimizer& optimizer, const Task& task,
                       int64_t step);

/// Restores what save_resume_state wrote into the freshly built model, optimizer and task; returns the
/// step to continue after. Throws InputError when the file does not fit the pipeline (another model,
/// optimizer or data), naming the file and what differs.
int64_t load_resume_state(const std::string& dir, MuxModel& model, Optimizer& optimizer, Task& task);

}  // namespace datamux::runtime::detail
