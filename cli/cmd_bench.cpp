// `datamux bench`: measures the ops, one encoder layer, multiplexed inference against N and a training
// step, prints a table (CPU named first) and optionally writes it as JSON for
// bench/torch_side_by_side.py. See docs/performance.md.
#include <datamux/core/atomic_file.hpp>
#include <datamux/error.hpp>
#include <datamux/bench/bench.hpp>
#include <fmt/format.h>
#include <omp.h>

#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include "command.hpp"

namespace datamux::cli {
namespace {

struct BenchArgs {
  bool quick = false, smoke = false, verbose = false;
  std::string json;
  std::vector<std::string> groups;
  std::vector<int64_t> instances;
  std::string precision = "f32";
  std::string pipeline = "examples/pipelines/retrieval.toml";
  std::vector<std::string> sets;
  int threads = 0;
};

std::string cell(double v, const char* fmt_spec) { return v > 0 ? fmt::format(fmt::runtime(fmt_spec), v) : "-"; }

void print_report(const runtime::BenchReport& r) {
  const runtime::BenchHost& h = r.host;
  fmt::print("CPU      {} ({} cores, {} threads used)\n", h.cpu_model, h.cores, h.threads);
  fmt::print("ISA      {}; oneDNN {} dispatches {}\n", h.cpu_features, h.onednn_version, h.onednn_isa);
  fmt::print("matmul   {}   size {}{}\n\n", h.precision, r.size,
             h.peak_rss_resettable ? "" : "   (peak RSS is process-wide: /proc/self/clear_refs not writable)");
  fmt::print("{:<8} {:<40} {:>10} {:>9} {:>10} {:>8} {:>11} {:>8} {:>8} {:>8} {:>6}\n", "group", "row", "ms", "GFLOP/s",
             "raw ms", "ratio", "inst/s", "RSS MB", "tens MB", "nodes/it", "alloc");
  for (const auto& row : r.rows) {
    fmt::print("{:<8} {:<40} {:>10.3f} {:>9} {:>10} {:>8} {:>11} {:>8.0f} {:>8.1f} {:>8.0f} {:>6.1f}\n", row.group,
               row.name, row.ms, cell(row.gflops, "{:.1f}"), cell(row.baseline_ms, "{:.3f}"),
               cell(row.ratio, "{:.2f}x"), cell(row.items_per_s, "{:.0f}"), row.peak_rss_mb, row.peak_tensor_mb,
               row.tape_nodes_per_iter, row.system_allocs_per_iter);
  }
  fmt::print("\nratio: raw oneDNN time / ours (linear), instances/s over the plain N=1 model (mux), the part's share\n"
             "of the pass and, for the whole pass, the multiplier over the first N (profile).\n"
             "nodes/it: autograd nodes per iteration (0 = a true inference path); alloc: tensor blocks the\n"
             "cache could not serve per steady-state iteration (0 = no allocation after warm-up).\n");
}

nlohmann::json to_json(const runtime::BenchReport& r) {
  nlohmann::json j;
  const runtime::BenchHost& h = r.host;
  j["host"] = {{"cpu_model", h.cpu_model},         {"cores", h.cores},
               {"threads", h.threads},             {"cpu_features", h.cpu_features},
               {"onednn_version", h.onednn_version}, {"onednn_isa", h.onednn_isa},
               {"precision", h.precision},         {"peak_rss_resettable", h.peak_rss_resettable}};
  j["size"] = r.size;
  j["rows"] = nlohmann::json::array();
  for (const auto& row : r.rows)
    j["rows"].push_back({{"group", row.group},
                         {"name", row.name},
                         {"ms", row.ms},
                         {"gflops", row.gflops},
                         {"baseline_ms", row.baseline_ms},
                         {"ratio", row.ratio},
                         {"items_per_s", row.items_per_s},
                         {"instances", row.instances},
                         {"peak_rss_mb", row.peak_rss_mb},
                         {"peak_tensor_mb", row.peak_tensor_mb},
                         {"tape_nodes_per_iter", row.tape_nodes_per_iter},
                         {"system_allocs_per_iter", row.system_allocs_per_iter},
                         {"iterations", row.iterations}});
  return j;
}

void setup_bench(Cli& cli) {
  auto a = std::make_shared<BenchArgs>();
  auto* sub = cli.app.add_subcommand(
      "bench", "Measures linear vs raw oneDNN, a Transformer encoder layer, multiplexed inference vs N and a training step");
  sub->add_flag("--quick", a->quick, "Shorter timing budgets: everything in under 2 minutes");
  sub->add_flag("--smoke", a->smoke, "Tiny shapes and one timed call per row (for tests; the figures mean nothing)");
  sub->add_option("--json", a->json, "Also write the report as JSON to this file");
  sub->add_option("--group", a->groups, "Only these groups (repeatable): linear, encoder, mux, train; profile (only when named: --pipeline's "
                  "inference pass part by part at each N)")->delimiter(',');
  sub->add_option("--instances", a->instances, "N values of the mux group (default 1,2,5,10,20,40) and of profile (default 1,10,20,40)")
      ->delimiter(',')
      ->check(CLI::Range(int64_t{1}, int64_t{256}));
  sub->add_option("--precision", a->precision, "Matmul inputs: f32, or bf16 where the CPU has AVX512-BF16/AMX (f32 elsewhere)")
      ->check(CLI::IsMember({"f32", "bf16"}));
  sub->add_option("--pipeline", a->pipeline, "Pipeline of the training-step row and of the profile group")
      ->capture_default_str();
  sub->add_option("--set", a->sets, "Override a key of --pipeline for the profile group: --set section.key=value (repeatable)");
  sub->add_option("--threads", a->threads, "OpenMP threads (0 = OMP_NUM_THREADS or all cores)")->check(CLI::Range(0, 1024));
  sub->add_flag("--verbose", a->verbose, "Name each row on stderr as it starts");
  cli.run_when(sub, [a] {
    if (a->quick && a->smoke) throw InputError("bench: --quick and --smoke exclude each other; pick one");
    if (a->threads > 0) omp_set_num_threads(a->threads);
    runtime::BenchOptions o;
    o.size = a->smoke ? runtime::BenchSize::Smoke : a->quick ? runtime::BenchSize::Quick : runtime::BenchSize::Full;
    o.groups = a->groups;
    o.instances = a->instances;
    o.precision = a->precision;
    o.pipeline = a->pipeline;
    o.sets = a->sets;
    // The profile's pipeline sets its own [model] threads when it is built: --threads wins over it.
    if (a->threads > 0) o.sets.push_back(fmt::format("model.threads={}", a->threads));
    if (a->verbose) o.progress = [](const std::string& row) { std::fprintf(stderr, "bench: %s\n", row.c_str()); };
    const runtime::BenchReport report = runtime::run_bench(o);
    print_report(report);
    if (!a->json.empty()) write_file_atomic(a->json, to_json(report).dump(2) + "\n");
    return 0;
  });
}

}  // namespace

DATAMUX_CLI_COMMAND(30, setup_bench)

}  // namespace datamux::cli
