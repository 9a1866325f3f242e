// datamux/sweep/run_folder.hpp - one run's folder inside a sweep: finished or not, and who owns it.
//
// A run is finished when its results.json is a complete JSON object with an "accuracy" (`datamux run`
// writes it last and atomically). Anything else in the folder is what an interrupted attempt left and is
// cleared before the run is redone, so a run is never half old and half new.
//
// Ownership is a `flock` on <run>/.lock: the sweep that holds it runs the run, any other sweep leaves the
// run alone. The kernel releases the lock when every process holding it is gone, SIGKILL included, so a
// dead sweep never blocks a run forever. The lock file itself is never removed: removing it would let two
// sweeps lock two different files for the same run.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>

namespace datamux::runtime::sweep {

inline constexpr const char* kLockFile = ".lock";
inline constexpr const char* kRunInfoFile = "sweep_run.json";  // what the sweep asked this run to be
inline constexpr const char* kRunLogFile = "run.log";          // the run's stdout and stderr

/// results.json of a finished run, or nullopt (absent, unreadable, incomplete).
std::optional<nlohmann::json> finished_results(const std::string& run_dir);

/// An exclusive, non-blocking flock on <run_dir>/.lock (the folder is created). Movable, not copyable;
/// the lock goes with the object (or with the last process that inherited the descriptor).
class RunLock {
 public:
  /// nullopt when another process holds the lock. Throws InputError when the folder cannot be created.
  static std::optional<RunLock> try_acquire(const std::string& run_dir);
  RunLock(RunLock&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  RunLock& operator=(RunLock&&) = delete;
  RunLock(const RunLock&) = delete;
  ~RunLock();
  /// The descriptor (close-on-exec); a child that must keep the lock gets a dup of it.
  int fd() const { return fd_; }

 private:
  explicit RunLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

/// Removes everything in `run_dir` but the lock file: what an interrupted or failed attempt left.
void clear_attempt(const std::string& run_dir);

}  // namespace datamux::runtime::sweep
