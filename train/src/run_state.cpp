// run.json and the claim on a run folder (see run_state.hpp).
#include "run_state.hpp"

#include <datamux/core/atomic_file.hpp>
#include <datamux/error.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <filesystem>
#include <fstream>

namespace datamux::runtime::detail {
namespace fs = std::filesystem;
namespace {

constexpr const char* kStateFile = "run.json";
// What a run writes; an earlier attempt's copies are removed when a new run claims the folder.
constexpr const char* kRunFiles[] = {"results.json", "model.safetensors", "pipeline.toml", "resume.safetensors",
                                     "metrics.csv"};

std::string now_utc() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "";
  return buf;
}

nlohmann::json read_state(const std::string& dir) {
  std::ifstream in(fs::path(dir) / kStateFile);
  if (!in) return nlohmann::json::object();
  nlohmann::json j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  return j.is_object() ? j : nlohmann::json::object();
}

// A "running" record whose writer is alive: same host and its pid still exists.
bool writer_alive(const nlohmann::json& j) {
  if (j.value("state", "") != "running" || j.value("host", "") != host_name()) return false;
  const long long pid = j.value("pid", 0LL);
  if (pid <= 0 || pid == ::getpid()) return false;
  return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH;
}

}  // namespace

void require_same_pipeline(const std::string& dir, const std::string& resolved_toml) {
  std::ifstream in(fs::path(dir) / "pipeline.toml", std::ios::binary);
  const std::string saved((std::istreambuf_iterator<char>(in)), {});
  if (saved != resolved_toml)
    throw InputError(fmt::format("--resume {}: the pipeline (with its --set overrides) is not the one the run started "
                                 "with ({}/pipeline.toml); resume with the same file and overrides, e.g. datamux run "
                                 "{}/pipeline.toml --resume {}",
                                 dir, dir, dir, dir));
}

std::string recorded_run_state(const std::string& dir) { return read_state(dir).value("state", ""); }

void RunState::check(const std::string& dir, bool overwrite, bool resume) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) {
    if (resume) throw InputError(fmt::format("--resume {}: no such run folder", dir));
    return;
  }
  if (!fs::is_directory(dir, ec))
    throw InputError(fmt::format("output folder '{}' is a file, not a folder; choose another --out or [output] dir", dir));
  const nlohmann::json j = read_state(dir);
  const std::string state = j.value("state", "");
  if (writer_alive(j))
    throw InputError(fmt::format("output folder '{}' is being written by process {} (a run started {}); wait for it "
                                 "to end or choose another --out",
                                 dir, j.value("pid", 0LL), j.value("started", "?")));
  if (resume) {
    if (state == "interrupted" || state == "running") {
      if (!fs::exists(fs::path(dir) / "resume.safetensors"))
        throw InputError(fmt::format("--resume {}: the run stopped before its first checkpoint (no resume.safetensors); "
                                     "start it again without --resume",
                                     dir));
      return;
    }
    throw InputError(fmt::format("--resume {}: {}; only an interrupted run (run.json state \"interrupted\", or "
                                 "\"running\" by a process that was killed) can be resumed",
                                 dir, state.empty() ? "not a run folder of this datamux (no run.json)"
                                                    : fmt::format("the run is {}", state)));
  }
  // An interrupted run (or one whose process was killed) with a resume checkpoint is work a plain rerun
  // would throw away: it must be continued or replaced on purpose.
  if ((state == "interrupted" || state == "running") && !overwrite && fs::exists(fs::path(dir) / "resume.safetensors"))
    throw InputError(fmt::format("output folder '{}' holds {}{}; continue it with --resume {}, or pass "
                                 "--overwrite to start afresh, or choose another --out or [output] dir",
                                 dir, state == "running" ? "an unfinished run (its process was killed)" : "an interrupted run",
                                 j.contains("step") ? fmt::format(" (stopped at step {})", j.value("step", 0LL)) : "",
                                 dir));
  const bool finished = state == "done" || (state.empty() && fs::exists(fs::path(dir) / "results.json"));
  if (finished && !overwrite)
    throw InputError(fmt::format("output folder '{}' holds a finished run (results.json{}); pass --overwrite to "
                                 "replace it, or choose another --out or [output] dir",
                                 dir, state.empty() ? "" : ", run.json \"done\""));
}

RunState::RunState(std::string dir, bool overwrite, bool resume) : dir_(std::move(dir)), started_(now_utc()) {
  check(dir_, overwrite, resume);
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) throw InputError(fmt::format("[output] dir = \"{}\": cannot create it: {}", dir_, ec.message()));
  for (const char* f : kRunFiles) {
    if (resume && std::string(f) == "resume.safetensors") continue;
    if (resume && std::string(f) == "model.safetensors") continue;
    fs::remove(fs::path(dir_) / f, ec);
  }
  remove_stale_temp_files(dir_);
  write("running", "", "");
}

RunState::~RunState() {
  if (ended_) return;
  try {
    write("failed", "error", "the run ended by an exception (see its log)");
  } catch (...) {
    // best effort: a destructor must not throw
  }
}

void RunState::done() {
  write("done", "", "");
  ended_ = true;
}

void RunState::interrupted(const std::string& signal_name, long long step) {
  write("interrupted", "signal", signal_name, step);
  ended_ = true;
}

void RunState::failed(const std::string& error) {
  write("failed", "error", error);
  ended_ = true;
}

void RunState::write(const std::string& state, const std::string& detail_key, const std::string& detail, long long step) {
  nlohmann::json j = {{"state", state}, {"pid", static_cast<long long>(::getpid())}, {"host", host_name()},
                      {"started", started_}, {"updated", now_utc()}};
  if (!detail_key.empty()) j[detail_key] = detail;
  if (step >= 0) j["step"] = step;
  write_file_atomic((fs::path(dir_) / kStateFile).string(), j.dump(2) + "\n");
}

}  // namespace datamux::runtime::detail
