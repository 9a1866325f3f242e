// Accuracy from logits and targets, split by instance index.
#include <datamux/tasks/metrics.hpp>
#include <datamux/tasks/task.hpp>

namespace datamux::runtime {

void Accuracy::merge(const Accuracy& o) {
  correct += o.correct;
  total += o.total;
  if (instance_total.size() < o.instance_total.size()) {
    instance_total.resize(o.instance_total.size());
    instance_correct.resize(o.instance_correct.size());
  }
  for (std::size_t i = 0; i < o.instance_total.size(); ++i) {
    instance_total[i] += o.instance_total[i];
    instance_correct[i] += o.instance_correct[i];
  }
}

Accuracy accuracy(const HeadOutput& out, int64_t instances) {
  Accuracy acc;
  Tensor logits = out.logits.detach().contiguous();
  Tensor targets = out.targets.contiguous();
  const int64_t classes = logits.size(-1);
  const int64_t rows = targets.numel();
  if (logits.numel() != rows * classes) throw std::logic_error("accuracy: logits and targets do not match");
  const bool per_instance = instances > 0 && targets.dim() > 0 && targets.size(0) == instances;
  const int64_t per = per_instance ? rows / instances : rows;
  if (per_instance) {
    acc.instance_correct.assign(static_cast<std::size_t>(instances), 0);
    acc.instance_total.assign(static_cast<std::size_t>(instances), 0);
  }
  const float* l = logits.data<float>();
  const int32_t* t = targets.data<int32_t>();
  for (int64_t r = 0; r < rows; ++r) {
    if (t[r] == kIgnore) continue;
    const float* row = l + r * classes;
    int64_t best = 0;
    for (int64_t c = 1; c < classes; ++c)
      if (row[c] > row[best]) best = c;
    const bool ok = best == t[r];
    acc.correct += ok;
    acc.total += 1;
    if (per_instance) {
      acc.instance_correct[static_cast<std::size_t>(r / per)] += ok;
      acc.instance_total[static_cast<std::size_t>(r / per)] += 1;
    }
  }
  return acc;
}

}  // namespace datamux::runtime
