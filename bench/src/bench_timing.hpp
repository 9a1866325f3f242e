// bench_timing.hpp - timing and per-row accounting for `datamux bench` (internal to the runtime).
//
// A row is measured as: warm-up calls (primitive creation, the allocator cache fills), then timed
// calls until a time budget is spent (at least `min_iters`), reporting the median. Paired rows run the
// two sides alternately, call by call, so a burst of load from other processes hits both.
#pragma once

#include <datamux/bench/bench.hpp>

#include <functional>

namespace datamux::runtime::bench_detail {

struct Budget {
  int warmup = 2;
  int min_iters = 3;
  double seconds = 1.0;
};

/// Per-size budgets: full, quick (the whole run under 2 minutes), smoke (tests).
Budget budget_for(BenchSize size, double weight = 1.0);

/// Median seconds of `fn` over the budget; the number of timed calls goes to *iters.
double time_median(const std::function<void()>& fn, const Budget& b, int* iters);
/// The same for two functions called alternately; medians of each.
void time_pair(const std::function<void()>& a, const std::function<void()>& b, const Budget& budget, double* median_a,
               double* median_b, int* iters);

/// Measures a row: resets the peak RSS and tensor peak, runs `measure` (which times and fills the
/// row's timing fields), then fills the memory fields; tape nodes and fresh allocations are counted
/// over `steady` extra calls of `step` after the measurement (0 = skip).
void account(BenchRow& row, const std::function<void()>& measure, const std::function<void()>& step, int steady);

/// True when /proc/self/clear_refs lets us reset the peak RSS (so a row's peak is its own).
bool peak_rss_resettable();

}  // namespace datamux::runtime::bench_detail
