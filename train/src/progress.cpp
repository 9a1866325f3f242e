// Progress output: a redrawn bar on a terminal, periodic lines in logs.
#include <datamux/train/progress.hpp>
#include <datamux/train/trainer.hpp>

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>

namespace datamux::runtime {

Progress::Progress(int64_t total, int64_t every, bool quiet)
    : total_(total), every_(std::max<int64_t>(every, 1)), quiet_(quiet), bar_(isatty(fileno(stderr))),
      start_(std::chrono::steady_clock::now()) {}

bool Progress::due(int64_t step) const {
  if (quiet_) return false;
  return bar_ ? true : (step % every_ == 0 || step == total_);
}

void Progress::update(int64_t step, double loss, double acc, double eps) {
  if (quiet_) return;
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double eta = step > 0 ? elapsed / static_cast<double>(step) * static_cast<double>(total_ - step) : 0.0;
  const std::string stats = fmt::format("step {}/{}  loss {:.4f}  acc {:.4f}  {:.0f} ex/s  ETA {:.0f}s", step, total_,
                                        loss, acc, eps, eta);
  if (bar_) {
    const int width = 24;
    const int filled = total_ > 0 ? static_cast<int>(width * step / total_) : width;
    fmt::print(stderr, "\r[{}{}] {}\x1b[K", std::string(filled, '#'), std::string(width - filled, '.'), stats);
    bar_drawn_ = true;
  } else {
    fmt::print(stderr, "{}\n", stats);
  }
  std::fflush(stderr);
}

void Progress::message(const std::string& line) {
  if (quiet_) return;
  if (bar_drawn_) fmt::print(stderr, "\r\x1b[K");
  fmt::print(stderr, "{}\n", line);
}

void Progress::finish() {
  if (!quiet_ && bar_drawn_) fmt::print(stderr, "\n");
}

void Logger::line(const std::string& s) const {
  if (enabled()) fmt::print(stderr, "{}\n", s);
}

void Logger::debug(const std::string& s) const {
  if (debug_enabled()) fmt::print(stderr, "debug   {}\n", s);
}

void Logger::report(const RunSummary& s, Split split, int64_t instances) const {
  if (!enabled()) return;
  const Accuracy& a = s.final_eval.accuracy;
  fmt::print("{} accuracy {:.4f} ({} of {} predictions, {} examples)\n", split_name(split), a.value(), a.correct,
             a.total, s.final_eval.examples);
  if (s.baseline)
    fmt::print("baseline {:.4f} ({}; the model is {:+.2f} points from it)\n", s.baseline->accuracy, s.baseline->name,
               100.0 * (a.value() - s.baseline->accuracy));
  if (instances > 1 && !a.instance_total.empty()) {
    std::string per;
    for (std::size_t i = 0; i < a.instance_total.size(); ++i) per += fmt::format(" {}:{:.4f}", i, a.instance_value(i));
    fmt::print("per instance index{}\n", per);
  }
  if (s.train_examples_per_s > 0) fmt::print("training   {:.0f} examples/s\n", s.train_examples_per_s);
  fmt::print("inference  {:.0f} examples/s (N = {})\n", s.infer_examples_per_s, instances);
  fmt::print("results in {} ({:.1f} s)\n", s.out_dir, s.wall_seconds);
}

}  // namespace datamux::runtime
