// datamux/train/progress.hpp - what a run prints: a progress bar on a terminal, plain periodic
// lines otherwise (logs, CI), and the final report.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace datamux::runtime {

struct RunSummary;
enum class Split;

class Progress {
 public:
  /// The bar is drawn when stderr is a terminal.
  Progress(int64_t total_steps, int64_t log_every, bool quiet);
  /// True when `step` should be shown (every step on a bar, every log_every otherwise, and the last).
  bool due(int64_t step) const;
  void update(int64_t step, double loss, double accuracy, double examples_per_s);
  /// A line printed above the bar (e.g. a validation result).
  void message(const std::string& line);
  void finish();

 private:
  int64_t total_, every_;
  bool quiet_, bar_, bar_drawn_ = false;
  std::chrono::steady_clock::time_point start_;
};

/// How much a run says: quiet (nothing), info (progress, summary, report), debug (also every
/// parameter tensor, the build context and evaluation timings).
enum class LogLevel { Quiet = 0, Info = 1, Debug = 2 };

class Logger {
 public:
  explicit Logger(LogLevel level) : level_(level) {}
  void line(const std::string& s) const;
  void debug(const std::string& s) const;
  bool enabled() const { return level_ != LogLevel::Quiet; }
  bool debug_enabled() const { return level_ == LogLevel::Debug; }
  /// Final accuracy (overall and per instance index), throughput and where the results are.
  void report(const RunSummary& s, Split split, int64_t instances) const;

 private:
  LogLevel level_;
};

}  // namespace datamux::runtime
