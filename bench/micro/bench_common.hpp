// bench_common.hpp - helpers shared by the op benchmarks.
#pragma once

#include <benchmark/benchmark.h>

namespace datamux::bench {

/// Sets a GFLOP/s counter for `flops` floating-point operations per iteration.
inline void set_gflops(benchmark::State& state, double flops) {
  state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace datamux::bench
