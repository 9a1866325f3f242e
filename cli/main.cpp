// `datamux`: the command-line entry point. Builds the CLI11 app from every registered command
// (cli/cmd_*.cpp), runs the one given, and turns errors into a message and an exit code.
#include <algorithm>
#include <cstdio>
#include <datamux/options.hpp>
#include <datamux/version.hpp>
#include <exception>
#include <new>
#include <string>

#include "command.hpp"

#ifndef DATAMUX_GIT_COMMIT
#define DATAMUX_GIT_COMMIT ""
#endif

namespace {

std::string version_text() {
  std::string v = "datamux " DATAMUX_VERSION_STRING;
  if (*DATAMUX_GIT_COMMIT) v += std::string(" (") + DATAMUX_GIT_COMMIT + ")";
  v += "\nplugin SDK ABI " + std::to_string(datamux::kAbiVersion) + ", toolchain " DATAMUX_TOOLCHAIN;
  return v;
}

int usage_error(const std::string& message) {
  std::fprintf(stderr, "datamux: error: %s\nRun with --help for more information.\n", message.c_str());
  return datamux::cli::kExitUsage;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace datamux::cli;
  Cli cli{
      CLI::App{"datamux: data multiplexing for neural networks (N inputs, one backbone pass, N outputs)", "datamux"},
      {}};
  cli.app.set_version_flag("--version", version_text(), "Print the version, SDK ABI and toolchain");
  cli.app.require_subcommand(1);
  auto entries = command_entries();
  std::stable_sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) { return a.order < b.order; });
  for (const auto& e : entries) e.setup(cli);

  try {
    cli.app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return cli.app.exit(e);  // --help, --version
    return usage_error(e.what());
  }

  try {
    for (auto& [sub, run] : cli.runners)
      if (sub->parsed()) return run();
    return usage_error("no command given");
  } catch (const datamux::InputError& e) {
    std::fprintf(stderr, "datamux: error: %s\n", e.what());
    return kExitUsage;
  } catch (const CLI::ParseError& e) {
    return usage_error(e.what());
  } catch (const std::bad_alloc&) {
    // Sizes are bounded and the peak memory is estimated before a run starts; this is what is left
    // (e.g. other programs took the memory meanwhile).
    std::fprintf(stderr,
                 "datamux: error: out of memory; reduce [train] batch, [eval] batch, [model] hidden or instances, or "
                 "free memory (`datamux validate` compares its estimate of the peak with the available memory)\n");
    return kExitUsage;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "datamux: internal error: %s\n", e.what());
    return kExitFailure;
  }
}
