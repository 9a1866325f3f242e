// Progress of a sweep: reading a run's step from its log, drawing a bar, estimating what is left.
#include <datamux/sweep/progress.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <regex>

namespace datamux::runtime::sweep {

std::optional<RunProgress> read_run_progress(const std::string& log_path) {
  // Only the tail: a long run's log grows by a line every log_every steps, and this is read twice a second.
  constexpr std::streamoff kTail = 4096;
  std::ifstream in(log_path, std::ios::binary);
  if (!in) return std::nullopt;
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  in.seekg(std::max<std::streamoff>(0, size - kTail));
  std::string tail(static_cast<std::size_t>(std::min(size, kTail)), '\0');
  in.read(tail.data(), static_cast<std::streamsize>(tail.size()));
  tail.resize(static_cast<std::size_t>(in.gcount()));
  static const std::regex step(R"((?:^|\n)step +(\d+)/(\d+)\b)");
  std::optional<RunProgress> last;
  for (auto it = std::sregex_iterator(tail.begin(), tail.end(), step); it != std::sregex_iterator(); ++it) {
    RunProgress p{std::stoll((*it)[1].str()), std::stoll((*it)[2].str())};
    if (p.total > 0 && p.step <= p.total) last = p;
  }
  return last;
}

std::string progress_bar(double fraction, int width) {
  const int filled = static_cast<int>(std::lround(std::clamp(fraction, 0.0, 1.0) * width));
  std::string bar(static_cast<std::size_t>(width) + 2, '.');
  bar.front() = '[', bar.back() = ']';
  std::fill_n(bar.begin() + 1, filled, '#');
  return bar;
}

std::optional<double> estimate_seconds_left(const std::vector<double>& finished, int queued, const std::vector<ActiveRun>& active,
                                            int jobs) {
  // A run's expected length: the mean of the finished ones, else what the running ones project.
  std::optional<double> per_run;
  if (!finished.empty()) {
    double sum = 0;
    for (double s : finished) sum += s;
    per_run = sum / static_cast<double>(finished.size());
  } else {
    double sum = 0;
    int n = 0;
    for (const auto& a : active)
      if (a.fraction >= 0.05) sum += a.elapsed / a.fraction, ++n;
    if (n > 0) per_run = sum / n;
  }
  double work = 0;  // run-seconds left
  for (const auto& a : active) {
    if (a.fraction >= 0.05) work += a.elapsed * (1 - a.fraction) / a.fraction;  // its own pace
    else if (per_run) work += std::max(0.0, *per_run - a.elapsed);
    else return std::nullopt;
  }
  if (queued > 0) {
    if (!per_run) return std::nullopt;
    work += *per_run * queued;
  }
  return work / std::max(1, jobs);
}

}  // namespace datamux::runtime::sweep
