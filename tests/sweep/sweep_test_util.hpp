// Helpers for the sweep tests: fixture paths, scratch folders, running the built `datamux`.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "../pipeline/run_test_util.hpp"

namespace datamux::testing {

inline std::string sweep_fixture(const std::string& name) { return std::string(DATAMUX_SOURCE_DIR) + "/tests/sweep/data/" + name; }
inline std::string datamux_exe() { return std::string(DATAMUX_BINARY_DIR) + "/bin/datamux"; }

inline std::filesystem::path sweep_scratch(const std::string& name) { return scratch_dir("sweep-" + name); }

inline std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// Starts `datamux args...` with stdout and stderr into `log`; returns its pid.
inline pid_t start_datamux(const std::vector<std::string>& args, const std::filesystem::path& log) {
  pid_t pid = ::fork();
  if (pid == 0) {
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    std::vector<std::string> all = {datamux_exe()};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : all) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  return pid;
}

inline int wait_exit(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/// Runs `datamux args...` to completion; output is stdout and stderr together.
inline CliResult run_datamux(const std::vector<std::string>& args, const std::filesystem::path& scratch) {
  auto log = scratch / ("cli-" + std::to_string(::getpid()) + "-" + std::to_string(std::rand()) + ".log");
  CliResult r;
  r.code = wait_exit(start_datamux(args, log));
  r.output = read_text(log);
  std::filesystem::remove(log);
  return r;
}

/// How many lines of `text` contain `needle`.
inline int count_lines(const std::string& text, const std::string& needle) {
  std::istringstream in(text);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) n += line.find(needle) != std::string::npos;
  return n;
}

}  // namespace datamux::testing
