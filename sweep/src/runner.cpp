// The sweep loop: lock, skip or start each run, reap children, report progress.
#include <datamux/core/atomic_file.hpp>
#include <datamux/error.hpp>
#include <datamux/sweep/progress.hpp>
#include <datamux/sweep/run_folder.hpp>
#include <datamux/sweep/runner.hpp>

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <toml++/toml.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

extern char** environ;

namespace datamux::runtime::sweep {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::string format_duration(double s) {
  if (s < 60) return fmt::format("{:.1f} s", s);
  auto t = static_cast<long>(s + 0.5);
  if (t < 3600) return fmt::format("{}m{:02}s", t / 60, t % 60);
  return fmt::format("{}h{:02}m", t / 3600, t % 3600 / 60);
}

namespace {

nlohmann::json typed(const Value& v) {
  auto t = toml::parse("v = " + v.toml);
  const toml::node& n = *t["v"].node();
  if (auto i = n.as_integer()) return i->get();
  if (auto d = n.as_floating_point()) return d->get();
  if (auto b = n.as_boolean()) return b->get();
  return v.text;
}

void write_run_info(const std::string& dir, const SweepFile& sweep, const SweepRun& run) {
  nlohmann::json settings = nlohmann::json::object(), keys = nlohmann::json::array();
  for (const auto& s : run.swept) {
    settings[s.key] = typed(s.value);
    keys.push_back(s.key);
  }
  nlohmann::json j = {{"name", run.name},         {"index", run.index},          {"sweep", sweep.path},
                      {"base", sweep.base},       {"swept_keys", keys},          {"settings", settings},
                      {"overrides", run.overrides}};
  write_file_atomic((fs::path(dir) / kRunInfoFile).string(), j.dump(2) + "\n");
}

// Whether a finished run was made with the overrides this sweep gives it now (the [set] values or the
// base may have been edited since): a stale result must not pass silently as the new one.
bool same_overrides(const std::string& dir, const SweepRun& run) {
  std::ifstream in(fs::path(dir) / kRunInfoFile);
  if (!in) return true;  // a plain `datamux run` folder: nothing to compare
  auto j = nlohmann::json::parse(in, nullptr, false);
  return !j.is_object() || !j.contains("overrides") || j["overrides"] == nlohmann::json(run.overrides);
}

// The environment for a run, unless the user set these: OMP_NUM_THREADS splits the cores between the
// parallel runs, and OMP_WAIT_POLICY=passive stops idle OpenMP threads from spinning. Spinning threads
// of runs side by side (or of other users' jobs) starve each other: measured here, a small retrieval
// run took 268 s with spinning threads on a busy 2-core machine and 2 s with passive ones.
std::vector<std::string> child_environment(int jobs) {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) env.emplace_back(*e);
  if (!std::getenv("OMP_NUM_THREADS")) {
    unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    env.push_back(fmt::format("OMP_NUM_THREADS={}", std::max(1u, cores / static_cast<unsigned>(jobs))));
  }
  if (!std::getenv("OMP_WAIT_POLICY")) env.push_back("OMP_WAIT_POLICY=passive");
  return env;
}

// Starts one run. The child gets /dev/null as stdin, run.log as stdout and stderr, and the run's lock as
// fd 3 (every other descriptor of ours is close-on-exec); it is killed if the sweep dies.
pid_t spawn(const std::vector<std::string>& args, const std::vector<std::string>& env, const std::string& log_path,
            int lock_fd) {
  int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (log < 0) throw InputError(fmt::format("{}: cannot create the run log: {}", log_path, std::strerror(errno)));
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  const pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(log);
    throw std::runtime_error(fmt::format("fork failed: {}", std::strerror(errno)));
  }
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);  // the sweep died before prctl took effect
    int null = ::open("/dev/null", O_RDONLY);
    if (null >= 0) ::dup2(null, 0);
    ::dup2(log, 1);
    ::dup2(log, 2);
    if (lock_fd == 3) ::fcntl(3, F_SETFD, 0);
    else ::dup2(lock_fd, 3);  // dup2 clears close-on-exec on fd 3
    ::execve(argv[0], argv.data(), envp.data());
    const char* msg = "datamux sweep: cannot execute the run program\n";
    (void)!::write(2, msg, std::strlen(msg));
    ::_exit(127);
  }
  ::close(log);
  return pid;
}

std::string last_line(const std::string& path) {
  std::ifstream in(path);
  std::string line, last;
  while (std::getline(in, line))
    if (line.find_first_not_of(" \t\r") != std::string::npos) last = line;
  return last;
}

struct Active {
  const SweepRun* run;
  std::string dir;
  RunLock lock;
  Clock::time_point started;
};

std::vector<std::string> run_args(const SweepFile& sweep, const SweepRun& r, const SweepOptions& o, const std::string& dir) {
  std::vector<std::string> args = {o.program, "run", sweep.base};
  for (const auto& ov : r.overrides) {
    args.push_back("--set");
    args.push_back(ov);
  }
  args.push_back("--out");
  args.push_back(dir);
  return args;
}

std::string exit_reason(int status) {
  return WIFEXITED(status) ? (WEXITSTATUS(status) == 0 ? std::string("exit 0 without results.json")
                                                       : fmt::format("exit {}", WEXITSTATUS(status)))
                           : fmt::format("killed by signal {}", WTERMSIG(status));
}

// One sweep in progress: the runs waiting, the children running, and what the progress output shows.
struct SweepLoop {
  const SweepFile& sweep;
  const std::vector<SweepRun>& runs;
  const SweepOptions& o;
  Clock::time_point t0 = Clock::now();
  SweepSummary sum;
  std::vector<std::string> env = child_environment(o.jobs);
  int width = static_cast<int>(std::to_string(runs.size()).size());
  // On a terminal a status line (runs finished, ETA, each running run's bar) is redrawn in place under
  // the event lines; elsewhere (a log, a Slurm output file) a progress line per running run is printed
  // every progress_every seconds instead.
  bool tty = ::isatty(::fileno(o.progress)) != 0;
  bool status_shown = false;
  std::vector<double> finished_seconds;  // durations of the runs finished (or failed) here
  std::map<pid_t, Active> active;
  std::vector<const SweepRun*> pending;
  std::map<const SweepRun*, bool> told_busy;
  Clock::time_point last_beat = Clock::now();

  SweepLoop(const SweepFile& sweep_file, const std::vector<SweepRun>& sweep_runs, const SweepOptions& options)
      : sweep(sweep_file), runs(sweep_runs), o(options) {}

  void clear_status() {
    if (status_shown) fmt::print(o.progress, "\r\033[K");
    status_shown = false;
  }

  void line(const SweepRun& r, const std::string& what) {
    clear_status();
    fmt::print(o.progress, "[{:>{}}/{}] {} {}\n", &r - runs.data() + 1, width, runs.size(), what, r.name);
    std::fflush(o.progress);
  }

  std::string eta() const {
    std::vector<ActiveRun> now;
    for (const auto& [pid, a] : active) {
      auto p = read_run_progress((fs::path(a.dir) / kRunLogFile).string());
      now.push_back({std::chrono::duration<double>(Clock::now() - a.started).count(), p ? p->fraction() : 0.0});
    }
    if (pending.empty() && now.empty()) return "";
    auto left = estimate_seconds_left(finished_seconds, static_cast<int>(pending.size()), now, o.jobs);
    return left ? fmt::format(", ETA {}", format_duration(*left)) : "";
  }

  int finished_count() const { return sum.done + sum.skipped + sum.failed; }

  static std::string run_state(const Active& a, int bar_width) {
    const double secs = std::chrono::duration<double>(Clock::now() - a.started).count();
    auto p = read_run_progress((fs::path(a.dir) / kRunLogFile).string());
    if (!p) return fmt::format("{} starting ({})", progress_bar(0, bar_width), format_duration(secs));
    return fmt::format("{} {}/{} steps ({})", progress_bar(p->fraction(), bar_width), p->step, p->total, format_duration(secs));
  }

  void show_progress() {
    if (active.empty()) return;
    if (tty) {
      std::string s = fmt::format("[{}/{} finished{}]", finished_count(), sum.total, eta());
      for (const auto& [pid, a] : active) s += fmt::format("  {} {}", a.run->name, run_state(a, active.size() > 1 ? 10 : 20));
      fmt::print(o.progress, "\r\033[K{}", s);
      status_shown = true;
      std::fflush(o.progress);
    } else if (o.progress_every > 0 && Clock::now() - last_beat >= std::chrono::duration<double>(o.progress_every)) {
      last_beat = Clock::now();
      const std::string e = eta();
      for (const auto& [pid, a] : active)
        line(*a.run, fmt::format("running {} ({}/{} finished{}):", run_state(a, 20), finished_count(), sum.total, e));
    }
  }

  // Whether r left the pending list: skipped as finished, or started.
  bool try_start(const SweepRun& r) {
    const std::string dir = (fs::path(o.out_dir) / r.name).string();
    std::optional<RunLock> lock = RunLock::try_acquire(dir);
    if (!lock) {
      if (!told_busy[&r]) line(r, "busy (another sweep is running it; will check again)");
      told_busy[&r] = true;
      return false;
    }
    // Checked under the lock: another sweep may have finished it since we listed the folder.
    if (finished_results(dir)) {
      ++sum.skipped;
      std::string what = told_busy[&r] ? "done elsewhere" : "skipped (finished before)";
      if (!same_overrides(dir, r))
        what += fmt::format(" - WARNING: it ran with other settings than this sweep now gives it (see {}); "
                            "use another --out to run the new settings",
                            (fs::path(dir) / kRunInfoFile).string());
      line(r, what);
      return true;
    }
    clear_attempt(dir);
    write_run_info(dir, sweep, r);
    pid_t pid = spawn(run_args(sweep, r, o, dir), env, (fs::path(dir) / kRunLogFile).string(), lock->fd());
    active.emplace(pid, Active{&r, dir, std::move(*lock), Clock::now()});
    line(r, "started");
    last_beat = Clock::now();
    return true;
  }

  // Start what can start: skip finished runs, leave runs another sweep holds for later.
  void start_pending() {
    for (auto it = pending.begin(); it != pending.end() && static_cast<int>(active.size()) < o.jobs;) {
      if (try_start(**it))
        it = pending.erase(it);
      else
        ++it;
    }
  }

  void finish_run(std::map<pid_t, Active>::iterator a, int status) {
    const SweepRun& r = *a->second.run;
    const double secs = std::chrono::duration<double>(Clock::now() - a->second.started).count();
    finished_seconds.push_back(secs);
    auto results = finished_results(a->second.dir);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && results) {
      ++sum.done;
      active.erase(a);  // releases the lock; and the ETA counts only the runs still going
      line(r, fmt::format("done in {}, accuracy {:.4f} ({}/{} finished{})", format_duration(secs),
                          (*results)["accuracy"].get<double>(), finished_count(), sum.total, eta()));
      return;
    }
    ++sum.failed;
    const std::string why = exit_reason(status);
    const std::string log = (fs::path(a->second.dir) / kRunLogFile).string();
    sum.failed_runs.push_back(fmt::format("{}: {} (log: {})", r.name, why, log));
    line(r, fmt::format("FAILED after {}: {} (log: {}): {}", format_duration(secs), why, log, last_line(log)));
    active.erase(a);  // releases the lock
  }

  // Waits a little for a child to end and records it.
  void reap() {
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid == 0) {  // every run still going: show how far they are
      show_progress();
      std::this_thread::sleep_for(std::chrono::milliseconds(tty ? 250 : 500));
      return;
    }
    if (pid < 0) {
      if (errno == EINTR) return;
      throw std::runtime_error(fmt::format("waitpid failed: {}", std::strerror(errno)));
    }
    auto a = active.find(pid);
    if (a != active.end()) finish_run(a, status);
  }

  SweepSummary run() {
    sum.total = static_cast<int>(runs.size());
    for (const auto& r : runs) pending.push_back(&r);
    while (!pending.empty() || !active.empty()) {
      start_pending();
      if (active.empty()) {
        if (!pending.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(500));  // all busy elsewhere
        continue;
      }
      reap();
    }
    clear_status();
    sum.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    return sum;
  }
};

}  // namespace

SweepSummary run_sweep(const SweepFile& sweep, const std::vector<SweepRun>& runs, const SweepOptions& o) {
  return SweepLoop(sweep, runs, o).run();
}

}  // namespace datamux::runtime::sweep
