// metrics.csv: see metrics_csv.hpp.
#include "metrics_csv.hpp"

#include <datamux/error.hpp>
#include <fmt/format.h>

#include <algorithm>

namespace datamux::runtime::detail {

MetricsCsv::MetricsCsv(const std::string& path, int64_t instances) : instances_(instances) {
  if (path.empty()) return;
  out_.open(path, std::ios::trunc);
  if (!out_) throw InputError(fmt::format("{}: cannot write the training curve (check the output folder's permissions)", path));
  out_ << "step,split,loss,accuracy,lr,examples_per_s,elapsed_s,min_instance_accuracy";
  for (int64_t i = 0; i < instances_; ++i) out_ << ",instance_" << i;
  out_ << '\n' << std::flush;
}

void MetricsCsv::row(int64_t step, const char* split, double loss, const Accuracy& acc, double lr, double examples_per_s,
                     double elapsed_s) {
  if (!out_.is_open()) return;
  const bool per_instance = static_cast<int64_t>(acc.instance_total.size()) == instances_ && instances_ > 0;
  std::string line = fmt::format("{},{},{:.6g},{:.6g},", step, split, loss, acc.value());
  if (lr >= 0.0) line += fmt::format("{:.6g}", lr);
  line += ',';
  if (examples_per_s >= 0.0) line += fmt::format("{:.1f}", examples_per_s);
  line += fmt::format(",{:.2f},", elapsed_s);
  if (per_instance) {
    double lowest = 1.0;
    for (int64_t i = 0; i < instances_; ++i) lowest = std::min(lowest, acc.instance_value(static_cast<std::size_t>(i)));
    line += fmt::format("{:.6g}", lowest);
  }
  for (int64_t i = 0; i < instances_; ++i)
    line += per_instance ? fmt::format(",{:.6g}", acc.instance_value(static_cast<std::size_t>(i))) : std::string(",");
  out_ << line << '\n' << std::flush;
}

}  // namespace datamux::runtime::detail
