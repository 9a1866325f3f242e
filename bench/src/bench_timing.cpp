// Timing, peak-memory and counter accounting for `datamux bench` (see bench_timing.hpp).
#include "bench_timing.hpp"

#include <datamux/core/autograd_stats.hpp>
#include <datamux/core/memory.hpp>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <string>
#include <vector>

namespace datamux::runtime::bench_detail {
namespace {

using Clock = std::chrono::steady_clock;

double median(std::vector<double> v) {
  if (v.empty()) return 0.0;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
  return v[v.size() / 2];
}

double seconds(const std::function<void()>& fn) {
  const auto t0 = Clock::now();
  fn();
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Writing "5" to clear_refs resets the kernel's VmHWM to the current RSS (Linux >= 4.0).
bool reset_peak_rss() {
  std::ofstream f("/proc/self/clear_refs");
  if (!f) return false;
  f << "5";
  f.flush();
  return static_cast<bool>(f);
}

double peak_rss_mb() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;  // kB
  return 0.0;
}

}  // namespace

Budget budget_for(BenchSize size, double weight) {
  switch (size) {
    case BenchSize::Smoke: return {1, 2, 0.0};
    case BenchSize::Quick: return {1, 3, 0.4 * weight};
    case BenchSize::Full: break;
  }
  return {3, 5, 2.5 * weight};
}

double time_median(const std::function<void()>& fn, const Budget& b, int* iters) {
  for (int i = 0; i < b.warmup; ++i) fn();
  std::vector<double> t;
  double total = 0.0;
  while (static_cast<int>(t.size()) < b.min_iters || total < b.seconds) {
    t.push_back(seconds(fn));
    total += t.back();
  }
  if (iters) *iters = static_cast<int>(t.size());
  return median(t);
}

void time_pair(const std::function<void()>& a, const std::function<void()>& b, const Budget& budget, double* median_a,
               double* median_b, int* iters) {
  for (int i = 0; i < budget.warmup; ++i) a(), b();
  std::vector<double> ta, tb;
  double total = 0.0;
  while (static_cast<int>(ta.size()) < budget.min_iters || total < budget.seconds) {
    ta.push_back(seconds(a));
    tb.push_back(seconds(b));
    total += ta.back() + tb.back();
  }
  *median_a = median(ta);
  *median_b = median(tb);
  if (iters) *iters = static_cast<int>(ta.size());
}

bool peak_rss_resettable() {
  static const bool ok = reset_peak_rss();
  return ok;
}

void account(BenchRow& row, const std::function<void()>& measure, const std::function<void()>& step, int steady) {
  release_cached_memory();  // earlier rows' cached blocks would count in this row's RSS
  reset_peak_rss();
  reset_peak_memory();
  measure();
  row.peak_rss_mb = peak_rss_mb();
  row.peak_tensor_mb = static_cast<double>(memory_stats().peak_bytes) / (1024.0 * 1024.0);
  if (steady <= 0 || !step) return;
  const uint64_t nodes0 = tape_nodes_recorded();
  const uint64_t allocs0 = memory_stats().system_allocations;
  for (int i = 0; i < steady; ++i) step();
  row.tape_nodes_per_iter = static_cast<double>(tape_nodes_recorded() - nodes0) / steady;
  row.system_allocs_per_iter = static_cast<double>(memory_stats().system_allocations - allocs0) / steady;
}

}  // namespace datamux::runtime::bench_detail
