// The host description every `datamux bench` report starts with: CPU model, cores, ISA (ours and
// what oneDNN dispatched), threads and the matmul precision in effect.
#include <datamux/core/cpu_features.hpp>
#include <datamux/core/onednn_info.hpp>
#include <datamux/core/precision.hpp>
#include <datamux/bench/bench.hpp>
#include <omp.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "bench_timing.hpp"

namespace datamux::runtime {

BenchHost describe_host() {
  BenchHost h;
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("model name", 0) != 0) continue;
    const auto colon = line.find(':');
    if (colon != std::string::npos) h.cpu_model = line.substr(line.find_first_not_of(' ', colon + 1));
    break;
  }
  if (h.cpu_model.empty()) h.cpu_model = "unknown";
  h.cores = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
  h.threads = omp_get_max_threads();
  h.cpu_features = cpu_features_string();
  h.onednn_version = onednn_version();
  h.onednn_isa = onednn_effective_isa();
  h.precision = effective_matmul_precision() == MatmulPrecision::bf16 ? "bf16" : "f32";
  h.peak_rss_resettable = bench_detail::peak_rss_resettable();
  return h;
}

}  // namespace datamux::runtime
