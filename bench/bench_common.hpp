// bench_common.hpp - helpers shared by the op benchmarks: FLOP counters and a record of raw oneDNN
// timings, so a datamux op can report its speed as a ratio to the raw primitives in the same run.
#pragma once

#include <benchmark/benchmark.h>

#include <map>
#include <string>

namespace datamux::bench {

/// Sets a GFLOP/s counter for `flops` floating-point operations per iteration.
inline void set_gflops(benchmark::State& state, double flops) {
  state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

/// Seconds per iteration of the raw oneDNN baseline for a shape, filled by the baseline benchmarks
/// (registered, and so run, before the datamux ones).
inline std::map<std::string, double>& raw_seconds() {
  static std::map<std::string, double> m;
  return m;
}

}  // namespace datamux::bench
