// Held-out evaluation and inference timing.
#include "evaluation.hpp"

#include <algorithm>
#include <chrono>

namespace datamux::runtime::detail {

EvalResult evaluate(MuxModel& model, const Task& task, Split split, int64_t batch) {
  NoGradGuard no_grad;
  const bool was_training = model.is_training();
  model.eval();
  EvalResult r;
  double loss_sum = 0.0;
  int64_t loss_batches = 0;
  for (const Batch& b : task.eval_batches(split, model.context().instances, batch)) {
    ModelOutput out = model.forward(b);
    r.accuracy.merge(accuracy(out.main, model.context().instances));
    loss_sum += out.main.loss.item();
    ++loss_batches;
    r.examples += b.examples;
  }
  r.loss = loss_batches ? loss_sum / static_cast<double>(loss_batches) : 0.0;
  model.train(was_training);
  return r;
}

double inference_throughput(MuxModel& model, const Task& task, int64_t batch, int64_t steps) {
  auto batches = task.eval_batches(Split::Test, model.context().instances, batch);
  if (batches.empty()) return 0.0;
  NoGradGuard no_grad;
  model.eval();
  model.forward(batches[0]);  // warm-up: primitive creation and the allocator cache
  const auto t0 = std::chrono::steady_clock::now();
  int64_t examples = 0;
  for (int64_t s = 0; s < steps; ++s) {
    const Batch& b = batches[static_cast<std::size_t>(s) % batches.size()];
    model.forward(b);
    examples += b.inputs.size(0) * b.inputs.size(1);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return static_cast<double>(examples) / std::max(seconds, 1e-9);
}

}  // namespace datamux::runtime::detail
