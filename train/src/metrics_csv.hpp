// Private to the runtime: metrics.csv, the training curve of a run, one row per progress window and per
// validation. Long format (a `split` column) so a plotting tool reads it without knowing the cadence:
//   step,split,loss,accuracy,lr,examples_per_s,elapsed_s,min_instance_accuracy,instance_0,...,instance_{N-1}
// elapsed_s is wall time since this process began training (validations included), so time-to-accuracy
// reads straight off the validation rows.
// Rows are flushed as they are written, so an interrupted run keeps its curve up to that point.
#pragma once

#include <datamux/tasks/metrics.hpp>

#include <cstdint>
#include <fstream>
#include <string>

namespace datamux::runtime::detail {

class MetricsCsv {
 public:
  /// Creates (truncates) `path` and writes the header for `instances` per-index columns. An empty path
  /// writes nothing (runs that keep no files).
  MetricsCsv(const std::string& path, int64_t instances);
  /// One row. `lr` and `examples_per_s` are left empty when negative (validation rows).
  void row(int64_t step, const char* split, double loss, const Accuracy& acc, double lr, double examples_per_s,
           double elapsed_s);

 private:
  std::ofstream out_;
  int64_t instances_;
};

}  // namespace datamux::runtime::detail
