// `datamux sweep`: runs a grid of pipeline variations, each run in its own folder, resumable and sharded.
#include <datamux/sweep/check.hpp>
#include <datamux/sweep/run_folder.hpp>
#include <datamux/sweep/runner.hpp>
#include <datamux/sweep/shard.hpp>
#include <fmt/format.h>
#include <unistd.h>

#include <filesystem>
#include <memory>

#include "command.hpp"

namespace datamux::cli {
namespace {
namespace fs = std::filesystem;
namespace sw = runtime::sweep;

struct SweepArgs {
  std::string file;
  std::string out;
  std::string shard;
  int jobs = 1;
  double progress_every = 30;
  bool dry_run = false;
};

// The runs are this very executable: same build, same plugins, whatever PATH says.
std::string self_executable() {
  std::error_code ec;
  auto p = fs::read_symlink("/proc/self/exe", ec);
  if (ec) throw std::runtime_error("cannot find this executable (/proc/self/exe): " + ec.message());
  return p.string();
}

void print_dry_run(const sw::SweepFile& sweep, const std::vector<sw::SweepRun>& runs, const std::string& out) {
  if (!sweep.set.empty()) {
    fmt::print("every run:");
    for (const auto& [key, v] : sweep.set) fmt::print(" {}={}", key, v.toml);
    fmt::print("\n");
  }
  const int width = static_cast<int>(std::to_string(runs.size()).size());
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const auto& r = runs[i];
    const bool finished = sw::finished_results((fs::path(out) / r.name).string()).has_value();
    fmt::print("[{:>{}}/{}] {} {}\n ", i + 1, width, runs.size(), finished ? "finished" : "to run  ", r.name);
    for (const auto& s : r.swept) fmt::print(" {}={}", s.key, s.value.toml);
    fmt::print("\n");
  }
}

int run(const SweepArgs& a) {
  sw::SweepFile sweep = sw::load_sweep_file(a.file);
  std::vector<sw::SweepRun> all = sw::expand_grid(sweep);
  std::optional<sw::Shard> shard = a.shard.empty() ? sw::shard_from_environment() : sw::parse_shard(a.shard);
  std::vector<sw::SweepRun> runs = shard ? sw::select_shard(all, *shard) : all;
  sw::check_runs(sweep, runs);
  const std::string out = a.out.empty() ? (fs::path("runs") / fs::path(a.file).stem()).string() : a.out;

  std::string scope = shard ? fmt::format("{} of {} runs (shard {}/{})", runs.size(), all.size(), shard->index, shard->count)
                            : fmt::format("{} runs", all.size());
  fmt::print("sweep {}: {}, base {}, into {}/\n", a.file, scope, sweep.base, out);
  if (a.dry_run) {
    print_dry_run(sweep, runs, out);
    return 0;
  }
  std::fflush(stdout);
  sw::SweepOptions o;
  o.out_dir = out;
  o.jobs = a.jobs;
  o.progress_every = a.progress_every;
  o.program = self_executable();
  sw::SweepSummary s = sw::run_sweep(sweep, runs, o);
  fmt::print("sweep {}: {} runs in {}: {} done, {} skipped (finished before), {} failed\n", a.file, s.total,
             sw::format_duration(s.seconds), s.done, s.skipped, s.failed);
  for (const auto& f : s.failed_runs) fmt::print("  failed: {}\n", f);
  if (s.failed > 0) {
    fmt::print("rerun the same command to retry the failed runs (finished ones are skipped)\n");
    return kExitFailure;
  }
  fmt::print("report: datamux report {}\n", out);
  return 0;
}

void setup_sweep(Cli& cli) {
  auto a = std::make_shared<SweepArgs>();
  auto* sub = cli.app.add_subcommand("sweep", "Runs a grid of pipeline variations (a sweep TOML), each run in its own folder; resumable");
  sub->footer(
      "A sweep file names a base pipeline and the keys to vary (docs/sweeps.md):\n"
      "  base = \"pipeline.toml\"\n  seeds = [1, 2]\n  [axes]\n  \"model.instances\" = [1, 2, 4]\n"
      "  [[zip]]\n  \"mux.plugin\" = [\"gaussian\", \"hadamard\"]\n  \"mux.norm\" = [20.0, 1.0]\n"
      "  [[exclude]]\n  \"model.instances\" = 1\n  [set]\n  \"train.steps\" = 200\n"
      "Runs go to DIR/<swept values>/ (e.g. instances=2,mux=gaussian,seed=1). Finished runs are skipped, so\n"
      "rerunning after an interruption redoes only what did not finish. Under a Slurm array job the shard\n"
      "comes from SLURM_ARRAY_TASK_ID/_COUNT (or _MIN/_MAX). Progress: runs finished/total, each running\n"
      "run's bar (steps from its run.log) and an ETA from the runs finished so far. Exit: 0 all runs finished, 1 a run failed, 2 bad input.");
  sub->add_option("sweep", a->file, "Sweep TOML file (see examples/ablations/)")->required();
  sub->add_option("--out", a->out, "Folder for the run folders (default runs/<sweep file name>)");
  sub->add_flag("--dry-run", a->dry_run, "List every run with its settings and whether it already finished; run nothing");
  sub->add_option("--jobs,-j", a->jobs, "Runs at once (each gets cores/jobs OpenMP threads unless OMP_NUM_THREADS is set)")
      ->check(CLI::Range(1, 256));
  sub->add_option("--progress-every", a->progress_every,
                  "Seconds between progress lines (each running run's bar, the ETA) when the output is not a terminal;\n"
                  "on a terminal one status line is redrawn in place instead (0 = no progress lines)")
      ->check(CLI::Range(0.0, 86400.0));
  sub->add_option("--shard", a->shard, "Run only slice i of k (0-based, i/k): the k slices cover the grid once");
  cli.run_when(sub, [a] { return run(*a); });
}

}  // namespace

DATAMUX_CLI_COMMAND(30, setup_sweep)

}  // namespace datamux::cli
