// datamux/bench/bench.hpp - the measurements behind `datamux bench` (issue 10, docs/performance.md).
//
// Five groups, each row timed as the median over repeated runs after a warm-up:
//   linear   ops::linear forward and forward+backward against the same GEMMs as raw oneDNN primitives,
//            interleaved run by run so load from other processes hits both sides alike (GFLOP/s, ratio)
//   encoder  one Transformer encoder layer: inference forward, training forward, forward+backward
//   mux      multiplexed inference, instances/s against N, for a [CLS] classification head and for
//            token-level retrieval logits, with the multiplier over a plain N=1 model (no mux, no demux,
//            no prefix)
//   train    one optimizer step of the default pipeline (examples/pipelines/retrieval.toml)
//   profile  (only when asked for) one inference pass of `pipeline` at each N, part by part: data,
//            embedding + demux.prepare, mux, backbone, demux, head; ratio = the part's share of the pass,
//            and for the whole pass the multiplier over the first N profiled
// Every row also records the peak RSS and peak live tensor bytes during its measurement, the tape
// nodes recorded and the fresh (non-cached) tensor allocations per steady-state iteration.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace datamux::runtime {

enum class BenchSize { Full, Quick, Smoke };

struct BenchOptions {
  BenchSize size = BenchSize::Full;
  std::string pipeline = "examples/pipelines/retrieval.toml";  // the training-step row; profile's pipeline
  std::vector<std::string> sets;    // profile: --set overrides of the pipeline
  std::vector<std::string> groups;  // empty = all of linear, encoder, mux, train (profile only when named)
  std::vector<int64_t> instances;   // N values; empty = mux {1, 2, 5, 10, 20, 40}, profile {1, 10, 20, 40} (smoke: {1, 2})
  std::string precision = "f32";    // f32, or bf16 (where the CPU has fast bf16; f32 elsewhere)
  std::function<void(const std::string&)> progress;  // called before each row (may be empty)
};

struct BenchRow {
  std::string group;   // linear, encoder, mux, train
  std::string name;    // e.g. "fwd+bwd 2048x256x1024", "cls N=20"
  double ms = 0;       // median time per iteration
  double gflops = 0;   // 0 when not meaningful
  double baseline_ms = 0;       // raw oneDNN (linear group), 0 otherwise
  double ratio = 0;             // baseline_ms / ms (linear), multiplier over plain N=1 (mux), else 0
  double items_per_s = 0;       // instances/s (mux, train), else 0
  int64_t instances = 0;        // N (mux, train)
  double peak_rss_mb = 0;       // process peak RSS during the row (VmHWM after a reset)
  double peak_tensor_mb = 0;    // peak live tensor bytes during the row
  double tape_nodes_per_iter = 0;        // autograd nodes recorded per iteration
  double system_allocs_per_iter = 0;     // tensor blocks the cache could not serve, per steady-state iteration
  int iterations = 0;
};

struct BenchHost {
  std::string cpu_model;      // /proc/cpuinfo "model name"
  int cores = 0;              // online CPUs
  int threads = 0;            // OpenMP threads used
  std::string cpu_features;   // ours (cpu_features_string)
  std::string onednn_version;
  std::string onednn_isa;     // what oneDNN dispatches to
  std::string precision;      // matmul precision actually used
  bool peak_rss_resettable = false;  // false: peak RSS is the process-wide peak so far
};

struct BenchReport {
  BenchHost host;
  std::string size;  // full, quick, smoke
  std::vector<BenchRow> rows;
};

/// Runs the selected groups. Throws InputError for an unknown group, bad N or a missing pipeline.
BenchReport run_bench(const BenchOptions& options);
BenchHost describe_host();

}  // namespace datamux::runtime
