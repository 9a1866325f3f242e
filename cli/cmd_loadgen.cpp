// `datamux loadgen`: open-loop load against `datamux serve` on this machine, reported as JSON; and
// `datamux loadgen chart`, the latency-throughput chart of several such reports (scripts/bench_serve.sh).
#include <datamux/error.hpp>
#include <datamux/serve/bench_chart.hpp>
#include <datamux/serve/loadgen.hpp>
#include <fmt/format.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>

#include "command.hpp"

namespace datamux::cli {
namespace {

struct LoadgenArgs {
  serve::LoadgenOptions options;
  std::string inputs_file, out;
  bool quiet = false;
  std::string chart_in, chart_svg, chart_table, chart_title = "datamux serve: p99 latency against throughput";
  double target_ms = 50;
};

std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream f(path);
  if (!f) throw InputError(fmt::format("--inputs {}: cannot read it", path));
  std::vector<std::string> lines;
  for (std::string line; std::getline(f, line);)
    if (!line.empty()) lines.push_back(line);
  if (lines.empty()) throw InputError(fmt::format("--inputs {}: no non-empty lines (one input text per line)", path));
  return lines;
}

int run_loadgen(LoadgenArgs& a) {
  if (!a.inputs_file.empty()) a.options.texts = read_lines(a.inputs_file);
  if (a.options.json_inputs && a.inputs_file.empty())
    throw InputError("--json-inputs needs --inputs FILE (one JSON input per line, e.g. an image's pixel list)");
  auto progress = [&](const std::string& line) {
    if (!a.quiet) std::fprintf(stderr, "loadgen %s\n", line.c_str());
  };
  const serve::LoadgenReport rep = serve::run_loadgen(a.options, progress);
  nlohmann::json j = rep.to_json();
  j["url"] = a.options.url;
  const std::string text = j.dump(2) + "\n";
  std::fputs(text.c_str(), stdout);
  if (!a.out.empty()) {
    std::ofstream f(a.out);
    if (!(f << text)) throw InputError(fmt::format("--out {}: cannot write it", a.out));
  }
  return 0;
}

void setup_loadgen(Cli& cli) {
  auto a = std::make_shared<LoadgenArgs>();
  auto* sub = cli.app.add_subcommand("loadgen", "Open-loop Poisson load against `datamux serve` on this machine; JSON report");
  sub->require_subcommand(0, 1);
  // `loadgen chart` first, so that its runner is found before loadgen's own.
  auto* chart = sub->add_subcommand("chart", "SVG chart of p99 latency against throughput from a bench JSON file "
                                             "(scripts/bench_serve.sh writes it)");
  chart->add_option("results", a->chart_in, "JSON: {\"series\": {name: [loadgen report, ...]}}")->required()->check(CLI::ExistingFile);
  chart->add_option("--svg", a->chart_svg, "Where to write the chart")->required();
  chart->add_option("--table", a->chart_table, "Also write the Markdown table and each series' sustained rate here");
  chart->add_option("--target-ms", a->target_ms, "p99 target that counts a rate as sustained (for --table)")->capture_default_str();
  chart->add_option("--title", a->chart_title, "Chart title");
  cli.run_when(chart, [a] {
    std::ifstream f(a->chart_in);
    std::stringstream ss;
    ss << f.rdbuf();
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(ss.str());
    } catch (const nlohmann::json::parse_error& e) {
      throw InputError(fmt::format("{}: not JSON: {}", a->chart_in, e.what()));
    }
    std::ofstream out(a->chart_svg);
    if (!(out << serve::latency_throughput_svg(j, a->chart_title))) throw InputError(fmt::format("--svg {}: cannot write it", a->chart_svg));
    if (!a->chart_table.empty()) {
      std::ofstream table(a->chart_table);
      if (!(table << serve::latency_throughput_table(j, a->target_ms)))
        throw InputError(fmt::format("--table {}: cannot write it", a->chart_table));
    }
    return 0;
  });

  sub->add_option("--url", a->options.url, "The server, http://127.0.0.1:PORT");
  sub->add_option("--rate", a->options.rate, "Offered requests per second (Poisson arrivals)")->capture_default_str();
  sub->add_option("--duration", a->options.duration_s, "Seconds of arrivals")->capture_default_str();
  sub->add_option("--max-requests", a->options.max_requests, "Stop after this many requests")->capture_default_str();
  sub->add_option("--connections", a->options.connections, "Requests in flight at most")->capture_default_str();
  sub->add_option("--timeout", a->options.timeout_s, "Seconds per request before it counts as a connection error")
      ->capture_default_str();
  sub->add_option("--inputs", a->inputs_file, "Text file, one request input per line (default: built-in e-mail lines)");
  sub->add_flag("--json-inputs", a->options.json_inputs,
                "Each --inputs line is a JSON input as POST /v1/predict takes it (an image's pixel list, "
                "{\"ids\": [...]}), not a text");
  sub->add_option("--seed", a->options.seed, "Seed of the arrival times")->capture_default_str();
  sub->add_option("--out", a->out, "Also write the JSON report here");
  sub->add_flag("--quiet", a->quiet, "No progress lines on stderr");
  cli.run_when(sub, [a] {
    if (a->options.url.empty()) throw InputError("loadgen needs --url http://127.0.0.1:PORT");
    return run_loadgen(*a);
  });
}

}  // namespace

DATAMUX_CLI_COMMAND(51, setup_loadgen)

}  // namespace datamux::cli
