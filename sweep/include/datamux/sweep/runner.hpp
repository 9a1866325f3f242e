// datamux/sweep/runner.hpp - runs a sweep's runs as child processes, K at a time.
//
// Each run is `<program> run <base> --set k=v ... --out <dir>/<run name>`, its output in run.log there.
// A child process per run means a crash or a kill of one run never takes the sweep (or another run)
// with it. Children die with the sweep (PR_SET_PDEATHSIG), and each child holds its run's lock too, so
// the lock outlives neither of them. Finished runs are skipped; runs another sweep holds are retried
// until that sweep has finished them (or died, and then they are run here).
#pragma once

#include <datamux/sweep/grid.hpp>

#include <cstdio>
#include <string>
#include <vector>

namespace datamux::runtime::sweep {

struct SweepOptions {
  std::string out_dir;   // the sweep's folder; run folders go inside
  int jobs = 1;          // runs at once
  std::string program;   // the `datamux` executable the runs use
  std::FILE* progress = stdout;
  double progress_every = 30;  // seconds between progress lines when `progress` is not a terminal (0 = none)
};

struct SweepSummary {
  int total = 0, done = 0, skipped = 0, failed = 0;
  double seconds = 0;
  std::vector<std::string> failed_runs;  // "name: exit 2 (log: path)"
};

SweepSummary run_sweep(const SweepFile& sweep, const std::vector<SweepRun>& runs, const SweepOptions& options);

/// "41.2 s", "3m05s", "1h02m".
std::string format_duration(double seconds);

}  // namespace datamux::runtime::sweep
