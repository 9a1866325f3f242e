// datamux/tasks/metrics.hpp - accuracy overall and per instance index.
#pragma once

#include <datamux/head.hpp>

#include <cstdint>
#include <vector>

namespace datamux::runtime {

/// Counts of correct argmax predictions; per_instance is filled when targets carry the instance axis.
struct Accuracy {
  int64_t correct = 0, total = 0;
  std::vector<int64_t> instance_correct, instance_total;
  double value() const { return total ? static_cast<double>(correct) / static_cast<double>(total) : 0.0; }
  double instance_value(std::size_t i) const {
    return instance_total[i] ? static_cast<double>(instance_correct[i]) / static_cast<double>(instance_total[i]) : 0.0;
  }
  void merge(const Accuracy& o);
};

/// Argmax accuracy of `out.logits` [..., C] against `out.targets` [...] (kIgnore not counted). With
/// `instances` > 0 and targets whose axis 0 has that size, also per instance index.
Accuracy accuracy(const HeadOutput& out, int64_t instances);

}  // namespace datamux::runtime
