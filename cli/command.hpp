// The `datamux` command's plumbing. Each subcommand lives in its own cli/cmd_<name>.cpp and registers
// itself with DATAMUX_CLI_COMMAND, so adding a command is adding a file:
//
//   void setup_eval(datamux::cli::Cli& cli) {
//     auto* sub = cli.app.add_subcommand("eval", "Evaluates a trained pipeline");
//     auto* path = ...; sub->add_option(...);
//     cli.run_when(sub, [=] { ...; return 0; });
//   }
//   DATAMUX_CLI_COMMAND(20, setup_eval)   // 20 = position in `datamux --help`
//
// A runner returns the exit code. Bad user input is reported by throwing datamux::InputError (or a
// CLI11 parse error): main prints "datamux: error: <message>" on stderr and exits with code 2.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <utility>
#include <vector>

namespace datamux::cli {

/// Exit codes: 0 success, 1 a failure that is not the user's input (a plugin misbehaved), 2 bad input.
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

struct Cli {
  CLI::App app;
  /// Runs `fn` when the (leaf) subcommand `sub` was given on the command line.
  void run_when(CLI::App* sub, std::function<int()> fn) { runners.emplace_back(sub, std::move(fn)); }
  std::vector<std::pair<CLI::App*, std::function<int()>>> runners;
};

using CommandSetup = void (*)(Cli&);
struct CommandEntry {
  int order;
  CommandSetup setup;
};

/// Every registered command, in registration order (main sorts them by `order`).
inline std::vector<CommandEntry>& command_entries() {
  static std::vector<CommandEntry> entries;
  return entries;
}
inline bool register_command(int order, CommandSetup setup) {
  command_entries().push_back({order, setup});
  return true;
}

}  // namespace datamux::cli

#define DATAMUX_CLI_CONCAT_(a, b) a##b
#define DATAMUX_CLI_CONCAT(a, b) DATAMUX_CLI_CONCAT_(a, b)
#define DATAMUX_CLI_COMMAND(ORDER, SETUP)                                   \
  static const bool DATAMUX_CLI_CONCAT(datamux_cli_registered_, __LINE__) = \
      ::datamux::cli::register_command(ORDER, SETUP);
