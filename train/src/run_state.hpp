// Private to the runtime: the output folder of `datamux run` as a transaction, recorded in run.json.
//
// run.json says what the folder holds: "running" (with the writer's pid and host), "done", "failed"
// (with the error) or "interrupted" (by SIGINT/SIGTERM, with a checkpoint to resume from). A folder
// holding a finished run ("done", or results.json from before run.json existed) is never written
// into without --overwrite; one that a live process is writing is refused; anything else (failed,
// interrupted, or "running" by a process that is gone: SIGKILL, power loss) is an earlier attempt,
// whose pieces and stale temporary files are removed when the new run claims the folder, so a folder
// never mixes the files of two runs.
#pragma once

#include <string>

namespace datamux::runtime::detail {

class RunState {
 public:
  /// Throws InputError when `dir` may not be written (see above). Creates and changes nothing, so it
  /// can run before the pipeline is built. With `resume`, an attempt to resume is required instead:
  /// "interrupted", or "running" by a dead process.
  static void check(const std::string& dir, bool overwrite, bool resume);

  /// Claims the folder: creates it, removes an earlier attempt's files (all but the resume state with
  /// `resume`) and stale temporary files, writes run.json "running".
  RunState(std::string dir, bool overwrite, bool resume);
  /// A run that ends by an exception is recorded as "failed" (best effort: never throws).
  ~RunState();
  RunState(const RunState&) = delete;
  RunState& operator=(const RunState&) = delete;

  void done();
  void interrupted(const std::string& signal_name, long long step);
  void failed(const std::string& error);

 private:
  void write(const std::string& state, const std::string& detail_key, const std::string& detail, long long step = -1);
  std::string dir_;
  std::string started_;
  bool ended_ = false;
};

/// With --resume: throws InputError unless `dir`/pipeline.toml is `resolved_toml` (the same pipeline,
/// overrides included, as the run started with).
void require_same_pipeline(const std::string& dir, const std::string& resolved_toml);

/// The state recorded in `dir`/run.json ("" when there is none).
std::string recorded_run_state(const std::string& dir);

}  // namespace datamux::runtime::detail
