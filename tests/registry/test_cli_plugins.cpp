// The `datamux` command as a user runs it: --version, --help on every command, `plugins list|info|try`
// against the test plugins, and exit code 2 with a message on stderr for bad input.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <datamux/version.hpp>
#include <fstream>
#include <sstream>

#include "registry_test_paths.hpp"

namespace datamux {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using namespace datamux::test;

struct Result {
  int code = -1;
  std::string out, err;
};

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// Runs `datamux ARGS` with DATAMUX_PLUGIN_PATH set to `plugin_path` (the built-in folder still comes first).
Result datamux(const std::string& args, const std::string& plugin_path = good_dir()) {
  const std::string base = ::testing::TempDir() + "datamux_cli_" + std::to_string(::getpid());
  const std::string cmd = "DATAMUX_PLUGIN_PATH='" + plugin_path + "' " DATAMUX_BINARY_DIR "/bin/datamux " + args +
                          " >" + base + ".out 2>" + base + ".err";
  const int status = std::system(cmd.c_str());
  Result r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp(base + ".out");
  r.err = slurp(base + ".err");
  std::remove((base + ".out").c_str());
  std::remove((base + ".err").c_str());
  return r;
}

TEST(Cli, VersionShowsAbiAndToolchain) {
  const Result r = datamux("--version");
  EXPECT_EQ(r.code, 0);
  EXPECT_THAT(r.out, HasSubstr("datamux " DATAMUX_VERSION_STRING));
  EXPECT_THAT(r.out, HasSubstr("plugin SDK ABI " + std::to_string(kAbiVersion)));
  EXPECT_THAT(r.out, HasSubstr(DATAMUX_TOOLCHAIN));
}

TEST(Cli, HelpOnEveryCommand) {
  for (const char* cmd : {"", "plugins", "plugins list", "plugins info", "plugins try"}) {
    const Result r = datamux(std::string(cmd) + " --help");
    EXPECT_EQ(r.code, 0) << cmd;
    EXPECT_THAT(r.out, HasSubstr("Usage:")) << cmd;
  }
  EXPECT_THAT(datamux("--help").out, HasSubstr("plugins"));
  EXPECT_THAT(datamux("plugins --help").out, HasSubstr("DATAMUX_PLUGIN_PATH"));
}

TEST(Cli, MissingOrUnknownCommandIsAUsageError) {
  for (const char* args : {"", "plugins", "frobnicate", "plugins list --bogus", "plugins info"}) {
    const Result r = datamux(args);
    EXPECT_EQ(r.code, 2) << args;
    EXPECT_THAT(r.err, HasSubstr("datamux: error: ")) << args;
  }
}

TEST(Cli, ListShowsKindNameVersionPathDescription) {
  const Result r = datamux("plugins list");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("KIND"));
  EXPECT_THAT(r.out, HasSubstr("DESCRIPTION"));
  std::istringstream lines(r.out);
  std::string line, row;
  while (std::getline(lines, line))
    if (line.find("test_scale") != std::string::npos) row = line;
  EXPECT_THAT(row, HasSubstr("mux"));
  EXPECT_THAT(row, HasSubstr("1.2.3"));
  EXPECT_THAT(row, HasSubstr(good_lib()));
  EXPECT_THAT(row, HasSubstr("Learned per-instance gain, then mean or sum"));
}

TEST(Cli, ListFiltersByKindAndSpeaksJson) {
  EXPECT_THAT(datamux("plugins list --kind backbone").out, Not(HasSubstr("test_scale")));
  const Result r = datamux("plugins list --json --kind mux");
  EXPECT_EQ(r.code, 0);
  EXPECT_THAT(r.out, HasSubstr("\"name\": \"test_scale\""));
  EXPECT_THAT(r.out, HasSubstr("\"library\": \"" + good_lib() + "\""));
}

TEST(Cli, ListWarnsAboutRefusedLibraries) {
  const Result r = datamux("plugins list", good_dir() + ":" + broken_dir());
  EXPECT_EQ(r.code, 0);
  EXPECT_THAT(r.out, HasSubstr("test_scale"));
  EXPECT_THAT(r.err, HasSubstr("datamux: warning: plugin library '" + broken_lib("abi_mismatch") + "'"));
}

TEST(Cli, InfoShowsManifestAndEveryOption) {
  const Result r = datamux("plugins info test_scale");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("mux plugin 'test_scale', version 1.2.3"));
  EXPECT_THAT(r.out, HasSubstr("library:   " + good_lib()));
  EXPECT_THAT(r.out, HasSubstr("ABI " + std::to_string(kAbiVersion)));
  EXPECT_THAT(r.out, HasSubstr("init = 1.0"));
  EXPECT_THAT(r.out, HasSubstr("# float, [0.0, 100.0]"));
  EXPECT_THAT(r.out, HasSubstr("initial gain of every instance"));
  EXPECT_THAT(r.out, HasSubstr("reduce = \"mean\""));
  EXPECT_THAT(r.out, HasSubstr("# string, one of \"mean\", \"sum\""));
  EXPECT_THAT(r.out, HasSubstr("trainable = true"));
  EXPECT_THAT(r.out, HasSubstr("unused_count = 3"));
  EXPECT_THAT(r.out, HasSubstr("# int, [1, 10]"));
  EXPECT_THAT(r.out, HasSubstr("unused_list = [1, 2]"));
}

TEST(Cli, InfoJson) {
  const Result r = datamux("plugins info test_scale --json");
  EXPECT_EQ(r.code, 0);
  EXPECT_THAT(r.out, HasSubstr("\"key\": \"init\""));
  EXPECT_THAT(r.out, HasSubstr("\"max\": 100.0"));
  EXPECT_THAT(r.out, HasSubstr("\"choices\""));
}

TEST(Cli, UnknownPluginSuggestsAndExits2) {
  const Result r = datamux("plugins info test_scael");
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("no plugin named 'test_scael'; did you mean 'test_scale'?"));
  EXPECT_EQ(datamux("plugins info test_scale --kind head").code, 2);
}

TEST(Cli, TryRunsForwardAndBackward) {
  const Result r = datamux("plugins try test_scale --set init=2 --set reduce=sum -N 3");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("options:  init = 2.0, reduce = \"sum\""));
  EXPECT_THAT(r.out, HasSubstr("forward:  [3, 2, 4, 8] -> [2, 4, 8]"));
  EXPECT_THAT(r.out, HasSubstr("gradient reached the input and 1 of 1 parameter tensors"));
  EXPECT_THAT(r.out, HasSubstr("ok"));
}

TEST(Cli, TryReportsBadOptionsAndFactoryErrorsAsUsageErrors) {
  Result r = datamux("plugins try test_scale --set init=abc");
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("--set init=abc: [mux] init: expects a float, got a string (\"abc\")"));
  r = datamux("plugins try test_scale --set init=500");
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("--set init=500: [mux] init: 500 is out of range [0.0, 100.0]"));
  r = datamux("plugins try test_scale --set nit=1");
  EXPECT_THAT(r.err, HasSubstr("did you mean 'init'?"));
  r = datamux("plugins try test_throws --set fail=input_error -N 9");
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("mux plugin 'test_throws'"));
  EXPECT_THAT(r.err, HasSubstr("needs at most 4 instances, got 9"));
  r = datamux("plugins try test_scale --set noequals");
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("expected key=value"));
}

TEST(Cli, TryPassesAStatelessPlugin) {
  const Result r = datamux("plugins try test_throws");  // fail=none: returns instance 0
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("forward:  [2, 2, 4, 8] -> [2, 4, 8]"));
  EXPECT_THAT(r.out, HasSubstr("0 of 0 parameter tensors"));
}

TEST(Cli, TryCatchesAPluginThatBreaksItsContract) {
  const Result r = datamux("plugins try test_throws --set fail=bad_shape --input vector");
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("forward:  [2, 2, 64] -> [2, 2, 64]"));
  EXPECT_THAT(r.err, HasSubstr("error: the output should be [2, 64] for a mux plugin"));
  EXPECT_THAT(r.err, HasSubstr("FAILED"));
}

}  // namespace
}  // namespace datamux
