// Helpers shared by the pipeline run tests: fixture paths, scratch folders, quiet run options, running
// the built `datamux` command.
#pragma once

#include <datamux/train/trainer.hpp>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <string>

namespace datamux::testing {

inline std::string pipeline_fixture(const std::string& name) {
  return std::string(DATAMUX_TEST_DATA_DIR) + "/pipelines/" + name;
}

/// An empty folder under the temp dir, unique to this test process.
inline std::filesystem::path scratch_dir(const std::string& name) {
  namespace fs = std::filesystem;
  fs::path d = fs::temp_directory_path() / ("datamux-test-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

inline runtime::RunOptions quiet_run(const std::filesystem::path& out) {
  runtime::RunOptions o;
  o.out_dir = out.string();
  o.log_level = runtime::LogLevel::Quiet;
  return o;
}

struct CliResult {
  int code = -1;
  std::string output;  // stdout, and stderr unless left out
};

/// Runs the built `datamux ARGS` (only the built-in plugins: DATAMUX_PLUGIN_PATH is unset).
inline CliResult run_cli(const std::string& args, bool with_stderr = true) {
  const std::string cmd = "env -u DATAMUX_PLUGIN_PATH " + std::string(DATAMUX_BINARY_DIR) + "/bin/datamux " + args +
                          (with_stderr ? " 2>&1" : " 2>/dev/null");
  CliResult r;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf{};
  while (std::fgets(buf.data(), buf.size(), p)) r.output += buf.data();
  const int status = pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

}  // namespace datamux::testing
