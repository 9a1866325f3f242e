// datamux/sweep/check.hpp - every run's pipeline checked before the first run starts.
#pragma once

#include <datamux/sweep/grid.hpp>

#include <vector>

namespace datamux::runtime::sweep {

/// Loads each run's pipeline (base + overrides) and checks each plugin section's options against that
/// plugin's schema, as `datamux validate` does but without building models. Throws InputError at the
/// sweep file's line of the value at fault (unknown key, wrong type, out of range, unknown plugin), so
/// a typo fails the sweep at once instead of run after run.
void check_runs(const SweepFile& sweep, const std::vector<SweepRun>& runs);

}  // namespace datamux::runtime::sweep
