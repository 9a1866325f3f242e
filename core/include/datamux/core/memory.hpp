// datamux/core/memory.hpp - statistics of the tensor memory cache (see core/src/storage.cpp).
#pragma once

#include <cstddef>

namespace datamux {

struct MemoryStats {
  std::size_t live_bytes = 0;    // held by live tensors
  std::size_t peak_bytes = 0;    // high-water mark of live_bytes
  std::size_t cached_bytes = 0;  // freed blocks kept for reuse
};

MemoryStats memory_stats();
/// Returns every cached block to the system (e.g. between sweep runs).
void release_cached_memory();

}  // namespace datamux
