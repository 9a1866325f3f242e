// Size-bucketed caching allocator behind Storage.
//
// A training step allocates the same activation sizes every step. glibc returns large freed blocks
// to the OS (mmap threshold), so without a cache every step pays page faults on fresh memory. Freed
// blocks go to a free list keyed by their rounded size and are handed out again.
#include <datamux/core/memory.hpp>
#include <datamux/tensor.hpp>

#include <cstdlib>
#include <mutex>
#include <new>
#include <unordered_map>
#include <vector>

namespace datamux {
namespace {

constexpr std::size_t kAlign = 64;

// Rounds up to 64 bytes below 64 KiB, and to 1/8 steps of the power of two above, so a block is
// reused for requests within ~12% of its size.
std::size_t round_size(std::size_t bytes) {
  if (bytes <= (std::size_t{1} << 16)) return (bytes + kAlign - 1) / kAlign * kAlign;
  std::size_t p = std::size_t{1} << (63 - __builtin_clzll(bytes));
  std::size_t step = p / 8;
  return (bytes + step - 1) / step * step;
}

struct Pool {
  std::mutex mu;
  std::unordered_map<std::size_t, std::vector<void*>> free_blocks;
  MemoryStats stats;
};

Pool& pool() {
  static Pool* p = new Pool();  // never destroyed: tensors in static objects may be freed at exit
  return *p;
}

}  // namespace

Storage::Storage(std::size_t n) {
  const std::size_t size = round_size(n == 0 ? 1 : n);
  Pool& p = pool();
  {
    std::lock_guard<std::mutex> lock(p.mu);
    auto it = p.free_blocks.find(size);
    if (it != p.free_blocks.end() && !it->second.empty()) {
      data = it->second.back();
      it->second.pop_back();
      p.stats.cached_bytes -= size;
    } else {
      ++p.stats.system_allocations;
    }
    ++p.stats.allocations;
    p.stats.live_bytes += size;
    if (p.stats.live_bytes > p.stats.peak_bytes) p.stats.peak_bytes = p.stats.live_bytes;
  }
  if (!data) {
    data = std::aligned_alloc(kAlign, size);
    if (!data) throw std::bad_alloc();
  }
  bytes = size;
}

Storage::~Storage() {
  Pool& p = pool();
  std::lock_guard<std::mutex> lock(p.mu);
  p.free_blocks[bytes].push_back(data);
  p.stats.live_bytes -= bytes;
  p.stats.cached_bytes += bytes;
}

MemoryStats memory_stats() {
  Pool& p = pool();
  std::lock_guard<std::mutex> lock(p.mu);
  return p.stats;
}

void release_cached_memory() {
  Pool& p = pool();
  std::lock_guard<std::mutex> lock(p.mu);
  for (auto& [size, blocks] : p.free_blocks)
    for (void* b : blocks) std::free(b);
  p.free_blocks.clear();
  p.stats.cached_bytes = 0;
}

void reset_peak_memory() {
  Pool& p = pool();
  std::lock_guard<std::mutex> lock(p.mu);
  p.stats.peak_bytes = p.stats.live_bytes;
}

}  // namespace datamux
