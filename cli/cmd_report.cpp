// `datamux report`: merges a sweep folder's runs into results.csv, results.json, report.md, report.html,
// with the axes chosen by --x/--y/--group.
#include <datamux/sweep/report.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <memory>

#include "command.hpp"

namespace datamux::cli {
namespace {

void setup_report(Cli& cli) {
  auto dir = std::make_shared<std::string>();
  auto opts = std::make_shared<runtime::sweep::ReportOptions>();
  auto svg_dir = std::make_shared<std::string>();
  auto* sub = cli.app.add_subcommand("report", "Merges a sweep folder's runs into results.csv/.json, report.md and report.html (charts)");
  sub->footer(
      "Every sub-folder with a finished results.json is a run. Tables and charts show a metric (--y, default\n"
      "accuracy) against a swept key (--x, default model.instances = N), one line/row per group (--group,\n"
      "default every other swept key but the seed); runs sharing group and x are averaged (mean ± std).\n"
      "Keys may be given by their short name (instances, mux, heads). A name the runs lack exits 2 listing\n"
      "the choices.\n"
      "report.html is self-contained (inline SVG): the chosen metric vs x, throughput multiplier vs x,\n"
      "accuracy per instance index (lines, and a heatmap run by run), accuracy against throughput, and\n"
      "training curves (loss and accuracy by step, from each run's metrics.csv).\n"
      "Example: datamux report runs/mux_vs_demux --x demux --group mux --y min_instance_accuracy");
  sub->add_option("dir", *dir, "The sweep's output folder (e.g. runs/mux_vs_n)")->required();
  sub->add_option("--x", opts->x, "Swept key on the x axis / table columns (default model.instances)");
  sub->add_option("--y", opts->y,
                  "Metric of the main chart and first table: accuracy (default), loss, min_instance_accuracy,\n"
                  "inference_examples_per_s, train_examples_per_s, throughput_multiplier, wall_seconds, ...");
  sub->add_option("--group", opts->group, "Swept keys that make one line/row, comma-separated, or none (default: the others but the seed)");
  sub->add_option("--svg", *svg_dir, "Also write each chart of report.html as a standalone SVG file into this folder");
  cli.run_when(sub, [dir, opts, svg_dir] {
    auto results = runtime::sweep::collect_results(*dir, *opts);
    auto paths = runtime::sweep::write_report(results);
    fmt::print("{} runs ({} unfinished) from {}; x {}, y {}, groups by {}:\n", results.runs.size(), results.unfinished.size(), *dir,
               results.x_key, results.y_metric, results.group_keys.empty() ? std::string("nothing") : fmt::format("{}", fmt::join(results.group_keys, ",")));
    for (const auto& p : paths) fmt::print("  {}\n", p);
    if (!svg_dir->empty()) {
      auto charts = runtime::sweep::write_charts(results, *svg_dir);
      fmt::print("{} charts as SVG files in {}/\n", charts.size(), *svg_dir);
    }
    return 0;
  });
}

}  // namespace

DATAMUX_CLI_COMMAND(31, setup_report)

}  // namespace datamux::cli
