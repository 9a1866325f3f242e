// datamux/sweep/progress.hpp - how far a sweep is: the current runs' bars and an ETA.
//
// A run's progress comes from its run.log: `datamux run` prints "step A/B ..." every log_every steps
// when its output is not a terminal (a sweep's runs write to run.log). The ETA counts the runs still
// queued at the mean time of the runs finished so far, and the running ones at what their step count
// says is left.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace datamux::runtime::sweep {

struct RunProgress {
  int64_t step = 0, total = 0;
  double fraction() const { return total > 0 ? static_cast<double>(step) / static_cast<double>(total) : 0.0; }
};

/// The last "step A/B" progress line in the tail of a run log; nullopt before the first one.
std::optional<RunProgress> read_run_progress(const std::string& log_path);

/// "[#########...........]": `width` characters between the brackets.
std::string progress_bar(double fraction, int width = 20);

/// A running run as the ETA sees it.
struct ActiveRun {
  double elapsed = 0;   // seconds since it started
  double fraction = 0;  // of its steps done, 0 when not known yet
};

/// Seconds until the sweep is done with `queued` runs not started and `active` running, `jobs` at a
/// time, given the durations of the runs finished so far. nullopt when nothing is known to go by yet.
std::optional<double> estimate_seconds_left(const std::vector<double>& finished, int queued, const std::vector<ActiveRun>& active,
                                            int jobs);

}  // namespace datamux::runtime::sweep
