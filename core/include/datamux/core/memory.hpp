// datamux/core/memory.hpp - statistics of the tensor memory cache (see core/src/storage.cpp).
//
// The counters let tests and `datamux bench` prove what the cache is for: after a warm-up, a
// steady-state inference or training loop takes every tensor from the cache (`system_allocations`
// stops growing) and the peak of live tensor bytes is known per measurement (`reset_peak_memory`).
#pragma once

#include <cstddef>
#include <cstdint>

namespace datamux {

struct MemoryStats {
  std::size_t live_bytes = 0;    // held by live tensors
  std::size_t peak_bytes = 0;    // high-water mark of live_bytes (since start or reset_peak_memory)
  std::size_t cached_bytes = 0;  // freed blocks kept for reuse
  uint64_t allocations = 0;         // Storage blocks handed out, cumulative
  uint64_t system_allocations = 0;  // of those, blocks the cache did not have (aligned_alloc), cumulative
};

MemoryStats memory_stats();
/// Returns every cached block to the system (e.g. between sweep runs).
void release_cached_memory();
/// Restarts the high-water mark at the current live bytes (per-measurement peaks).
void reset_peak_memory();

}  // namespace datamux
