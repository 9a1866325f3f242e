// `datamux report`: merges a sweep folder's runs into results.csv, results.json, report.md, report.html.
#include <datamux/runtime/sweep/report.hpp>
#include <fmt/format.h>

#include <memory>

#include "command.hpp"

namespace datamux::cli {
namespace {

void setup_report(Cli& cli) {
  auto dir = std::make_shared<std::string>();
  auto* sub = cli.app.add_subcommand("report", "Merges a sweep folder's runs into results.csv/.json, report.md and report.html (charts)");
  sub->footer(
      "Every sub-folder with a finished results.json is a run. Runs are grouped by the swept keys other than\n"
      "model.instances and model.seed; tables and charts show each group against N, mean ± std over seeds.\n"
      "report.html is self-contained (inline SVG): accuracy vs N, throughput multiplier vs N, accuracy per\n"
      "instance index, accuracy against throughput.");
  sub->add_option("dir", *dir, "The sweep's output folder (e.g. runs/mux_vs_n)")->required();
  cli.run_when(sub, [dir] {
    auto results = runtime::sweep::collect_results(*dir);
    auto paths = runtime::sweep::write_report(results);
    fmt::print("{} runs ({} unfinished) from {}:\n", results.runs.size(), results.unfinished.size(), *dir);
    for (const auto& p : paths) fmt::print("  {}\n", p);
    return 0;
  });
}

}  // namespace

DATAMUX_CLI_COMMAND(31, setup_report)

}  // namespace datamux::cli
