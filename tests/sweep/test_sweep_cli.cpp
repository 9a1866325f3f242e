// `datamux sweep` and `datamux report` as a user runs them: dry run, bad files, resume after SIGKILL,
// two sweeps on one folder, a failing run.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <set>
#include <thread>

#include "sweep_test_util.hpp"

using ::testing::HasSubstr;
using namespace datamux::testing;
namespace fs = std::filesystem;

namespace {

int finished_runs(const fs::path& out) {
  int n = 0;
  if (!fs::exists(out)) return 0;
  for (const auto& e : fs::directory_iterator(out)) n += fs::exists(e.path() / "results.json");
  return n;
}

// Each line of results.csv but the header, by run name (the first column).
std::map<std::string, int> csv_runs(const fs::path& csv) {
  std::map<std::string, int> runs;
  std::istringstream in(read_text(csv));
  std::string line;
  std::getline(in, line);
  // Run names hold commas, so results.csv quotes them.
  while (std::getline(in, line))
    ++runs[line[0] == '"' ? line.substr(1, line.find('"', 1) - 1) : line.substr(0, line.find(','))];
  return runs;
}

// Run names with a "started" progress line in `output`.
std::map<std::string, int> started(const std::string& output) {
  std::map<std::string, int> names;
  std::istringstream in(output);
  std::string line;
  while (std::getline(in, line))
    if (auto p = line.find("] started "); p != std::string::npos) ++names[line.substr(p + 10)];
  return names;
}

template <class Pred>
bool wait_until(Pred p, double seconds) {
  auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < end) {
    if (p()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

}  // namespace

TEST(SweepCli, DryRunListsEveryRunWithItsSettingsAndWritesNothing) {
  auto scratch = sweep_scratch("dry");
  auto out = scratch / "out";
  auto r = run_datamux({"sweep", sweep_fixture("grid.toml"), "--dry-run", "--out", out.string()}, scratch);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("7 runs"));
  EXPECT_THAT(r.output, HasSubstr("every run: train.steps=2"));
  EXPECT_THAT(r.output, HasSubstr("[1/7] to run   instances=1,mux=gaussian,norm=20.0,seed=1"));
  EXPECT_THAT(r.output, HasSubstr("model.instances=2 mux.plugin=\"hadamard\" mux.norm=1.0 model.seed=2"));
  EXPECT_EQ(count_lines(r.output, "to run"), 7);
  EXPECT_FALSE(fs::exists(out));
  auto shard = run_datamux({"sweep", sweep_fixture("grid.toml"), "--dry-run", "--shard", "1/3", "--out", out.string()}, scratch);
  ASSERT_EQ(shard.code, 0) << shard.output;
  EXPECT_THAT(shard.output, HasSubstr("2 of 7 runs (shard 1/3)"));
  EXPECT_EQ(count_lines(shard.output, "to run"), 2);
}

TEST(SweepCli, BadSweepFilesExit2NamingTheLocationBeforeAnythingRuns) {
  auto scratch = sweep_scratch("bad");
  const std::map<std::string, std::vector<std::string>> cases = {
      {"bad_unknown_key.toml", {"bad_unknown_key.toml:5:", "instnces"}},
      {"bad_empty_axis.toml", {"bad_empty_axis.toml:4:21", "empty axis"}},
      {"bad_type.toml", {"bad_type.toml:4:25", "same type"}},
      {"bad_wrong_type.toml", {"bad_wrong_type.toml:4:22", "instances"}},
      {"bad_value.toml", {"bad_value.toml:5:", "gausian", "did you mean 'gaussian'"}},
      {"bad_plugin_option.toml", {"bad_plugin_option.toml:4:", "nrom"}},
      {"bad_zip.toml", {"bad_zip.toml:5:"}},
      {"bad_toml.toml", {"bad_toml.toml:4:"}},
  };
  for (const auto& [file, wanted] : cases) {
    auto out = scratch / file;
    auto r = run_datamux({"sweep", sweep_fixture(file), "--out", out.string()}, scratch);
    EXPECT_EQ(r.code, 2) << file << ": " << r.output;
    for (const auto& w : wanted) EXPECT_THAT(r.output, HasSubstr(w)) << file;
    EXPECT_FALSE(fs::exists(out)) << file << ": nothing may be written";
  }
  auto r = run_datamux({"sweep", sweep_fixture("small.toml"), "--shard", "3/3"}, scratch);
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.output, HasSubstr("--shard 3/3"));
  r = run_datamux({"report", (scratch / "nothing").string()}, scratch);
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.output, HasSubstr("not a folder"));
}

TEST(SweepCli, RunsEveryRunOnceThenSkipsThemAndReports) {
  auto scratch = sweep_scratch("run");
  auto out = scratch / "out";
  auto first = run_datamux({"sweep", sweep_fixture("small.toml"), "--jobs", "2", "--out", out.string()}, scratch);
  ASSERT_EQ(first.code, 0) << first.output;
  EXPECT_THAT(first.output, HasSubstr("4 done, 0 skipped"));
  EXPECT_EQ(started(first.output).size(), 4u);
  for (const char* name : {"instances=1,seed=1", "instances=1,seed=2", "instances=2,seed=1", "instances=2,seed=2"}) {
    EXPECT_TRUE(fs::exists(out / name / "results.json")) << name;
    EXPECT_TRUE(fs::exists(out / name / "run.log")) << name;
    EXPECT_THAT(read_text(out / name / "sweep_run.json"), HasSubstr("\"model.instances\""));
  }
  auto again = run_datamux({"sweep", sweep_fixture("small.toml"), "--out", out.string()}, scratch);
  ASSERT_EQ(again.code, 0) << again.output;
  EXPECT_THAT(again.output, HasSubstr("0 done, 4 skipped"));
  EXPECT_TRUE(started(again.output).empty());

  // Edited settings do not pass silently for the old results.
  const std::string edited = (scratch / "edited.toml").string();
  fs::copy_file(sweep_fixture("tiny.toml"), scratch / "tiny.toml");
  std::ofstream(edited) << read_text(sweep_fixture("small.toml")) << "\n[set]\n\"train.steps\" = 4\n";
  auto stale = run_datamux({"sweep", edited, "--out", out.string()}, scratch);
  EXPECT_EQ(stale.code, 0) << stale.output;
  EXPECT_EQ(count_lines(stale.output, "WARNING: it ran with other settings"), 4) << stale.output;

  auto rep = run_datamux({"report", out.string()}, scratch);
  ASSERT_EQ(rep.code, 0) << rep.output;
  auto rows = csv_runs(out / "results.csv");
  EXPECT_EQ(rows.size(), 4u);
  for (const auto& [name, n] : rows) EXPECT_EQ(n, 1) << name;
  EXPECT_THAT(read_text(out / "results.csv"), HasSubstr("run,model.instances,model.seed,instances,mux"));
  EXPECT_THAT(read_text(out / "report.html"), HasSubstr("<svg"));
  EXPECT_THAT(read_text(out / "report.md"), HasSubstr("| N=1 | N=2 |"));
  EXPECT_THAT(read_text(out / "report.html"), HasSubstr("Training loss by step"));  // from each run's metrics.csv

  // Axes chosen on the command line; a name the runs lack exits 2 listing the choices, writing nothing.
  auto chosen = run_datamux({"report", out.string(), "--x", "seed", "--group", "instances", "--y", "loss"}, scratch);
  ASSERT_EQ(chosen.code, 0) << chosen.output;
  EXPECT_THAT(chosen.output, HasSubstr("x model.seed, y loss, groups by model.instances"));
  EXPECT_THAT(read_text(out / "report.md"), HasSubstr("## Loss (held-out)\n\n| model.instances | seed=1 | seed=2 |"));
  EXPECT_THAT(read_text(out / "report.html"), HasSubstr("Loss vs seed"));
  fs::remove(out / "report.md");
  auto bad = run_datamux({"report", out.string(), "--x", "heads"}, scratch);
  EXPECT_EQ(bad.code, 2) << bad.output;
  EXPECT_THAT(bad.output, HasSubstr("--x heads: not a swept key"));
  EXPECT_THAT(bad.output, HasSubstr("choose one of: model.instances (instances), model.seed (seed)"));
  bad = run_datamux({"report", out.string(), "--y", "speed"}, scratch);
  EXPECT_EQ(bad.code, 2) << bad.output;
  EXPECT_THAT(bad.output, HasSubstr("inference_examples_per_s"));
  EXPECT_FALSE(fs::exists(out / "report.md"));
}

TEST(SweepCli, SigkillPartWayLosesNothingAndCountsNothingTwice) {
  auto scratch = sweep_scratch("kill");
  auto out = scratch / "out";
  pid_t sweep = start_datamux({"sweep", sweep_fixture("slow.toml"), "--out", out.string()}, scratch / "first.log");
  // Kill it while a run is in progress, after at least one run finished.
  bool mid = wait_until(
      [&] {
        if (finished_runs(out) < 1) return false;
        for (const auto& e : fs::directory_iterator(out))
          if (fs::exists(e.path() / "run.log") && !fs::exists(e.path() / "results.json")) return true;
        return false;
      },
      120);
  ::kill(sweep, SIGKILL);
  wait_exit(sweep);
  ASSERT_TRUE(mid) << read_text(scratch / "first.log");
  const int before = finished_runs(out);
  ASSERT_LT(before, 6) << "the sweep finished before it could be killed; make slow.toml slower";
  // The killed sweep's run dies with it: nothing finishes behind our back.
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_EQ(finished_runs(out), before);

  auto again = run_datamux({"sweep", sweep_fixture("slow.toml"), "--out", out.string(), "--progress-every", "0.2"}, scratch);
  ASSERT_EQ(again.code, 0) << again.output;
  EXPECT_THAT(again.output, HasSubstr(std::to_string(6 - before) + " done, " + std::to_string(before) + " skipped"));
  // Progress while a run goes (output is not a terminal here: a line per running run every 0.2 s, the
  // sweep looks every 0.5 s, and each run takes longer than that). Its step count shows once the run has
  // logged a step; the unit tests check the bar and the step parsing (test_sweep_progress.cpp).
  EXPECT_THAT(again.output,
              ::testing::ContainsRegex("running \\[[#.]{20}\\] ([0-9]+/1000 steps|starting) \\([0-9.]+ s\\) \\([0-9]/6 finished"));
  EXPECT_EQ(static_cast<int>(started(again.output).size()), 6 - before);
  for (const auto& [name, n] : started(again.output)) EXPECT_EQ(n, 1) << name;
  EXPECT_EQ(finished_runs(out), 6);

  ASSERT_EQ(run_datamux({"report", out.string()}, scratch).code, 0);
  auto rows = csv_runs(out / "results.csv");
  EXPECT_EQ(rows.size(), 6u);
  for (const auto& [name, n] : rows) EXPECT_EQ(n, 1) << name;
}

TEST(SweepCli, TwoSweepsOnOneFolderNeverRunTheSameRunTwice) {
  auto scratch = sweep_scratch("two");
  auto out = scratch / "out";
  pid_t a = start_datamux({"sweep", sweep_fixture("slow.toml"), "--out", out.string()}, scratch / "a.log");
  pid_t b = start_datamux({"sweep", sweep_fixture("slow.toml"), "--out", out.string()}, scratch / "b.log");
  EXPECT_EQ(wait_exit(a), 0) << read_text(scratch / "a.log");
  EXPECT_EQ(wait_exit(b), 0) << read_text(scratch / "b.log");
  auto sa = started(read_text(scratch / "a.log")), sb = started(read_text(scratch / "b.log"));
  std::map<std::string, int> all = sa;
  for (const auto& [name, n] : sb) all[name] += n;
  EXPECT_EQ(all.size(), 6u);
  for (const auto& [name, n] : all) EXPECT_EQ(n, 1) << name << " was started by both sweeps";
  EXPECT_EQ(finished_runs(out), 6);
}

TEST(SweepCli, AFailingRunIsRecordedAndTheSweepGoesOn) {
  auto scratch = sweep_scratch("fail");
  auto out = scratch / "out";
  auto r = run_datamux({"sweep", sweep_fixture("one_fails.toml"), "--out", out.string()}, scratch);
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("1 done, 0 skipped (finished before), 1 failed"));
  EXPECT_THAT(r.output, HasSubstr("FAILED after"));
  auto failed = out / "init_from=_nonexistent_model.safetensors";
  EXPECT_FALSE(fs::exists(failed / "results.json"));
  EXPECT_THAT(read_text(failed / "run.log"), HasSubstr("nonexistent"));
  EXPECT_TRUE(fs::exists(out / "init_from=_" / "results.json"));
}
