// `datamux serve`: the HTTP/JSON inference server over a bundle of models, one per N (docs/serving.md).
#include <datamux/serve/bundle.hpp>
#include <datamux/serve/server.hpp>
#include <datamux/serve/signals.hpp>
#include <fmt/format.h>
#include <signal.h>

#include <cstdio>
#include <memory>

#include "command.hpp"

namespace datamux::cli {
namespace {

struct ServeArgs {
  std::vector<std::string> models;
  serve::ServeOptions options;
  std::string policy = "latency";
  double target_ms = 50;
  int64_t fixed_n = 0;
};

int run_serve(ServeArgs& a) {
  serve::ServeOptions& o = a.options;
  if (a.policy == "fixed") {
    if (a.fixed_n < 1) throw InputError("--policy fixed needs --n K (the N of one of the bundle's models)");
    o.policy.kind = serve::Policy::Kind::Fixed;
    o.policy.fixed_n = a.fixed_n;
  } else {
    if (a.fixed_n) throw InputError("--n is for --policy fixed; the latency policy picks N itself");
    o.policy.kind = serve::Policy::Kind::Latency;
    o.policy.target_s = a.target_ms / 1e3;
  }
  // Before any thread exists, so SIGTERM/SIGINT only reach the sigwait below.
  serve::block_stop_signals();
  serve::Bundle bundle = serve::Bundle::load(a.models);
  for (const auto& m : bundle.models()) {
    fmt::print("model   N = {:<3} {} ({}), dtype {}\n", m->instances, m->source, m->model->summary(), m->dtype());
    if (m->bf16_unavailable())
      fmt::print("dtype   N = {}: bf16 requested ([model] dtype), but this CPU has neither AVX512-BF16 nor AMX-BF16: "
                 "serving in f32\n",
                 m->instances);
  }
  if (bundle.image()) {
    const data::ImageInput& in = bundle.image_input();
    fmt::print("task    {}: images of {} x {} pixels ({} values 0..255 per input), {} labels\n", bundle.task_kind(),
               in.rows, in.cols, in.values(), bundle.labels().size());
  } else {
    fmt::print("task    {}: {} tokens per input, {} labels\n", bundle.task_kind(), bundle.length(), bundle.labels().size());
  }
  serve::Server server(bundle, o);
  server.start();
  std::string times;
  for (const auto& [n, s] : server.service_times()) times += fmt::format("  N={}: {:.2f} ms ({:.0f} inputs/s)", n, s * 1e3, n / s);
  fmt::print("warm-up {}\npolicy  {}\nlistening on http://{}:{} (POST /v1/predict, GET /healthz, GET /metrics); "
             "SIGTERM or Ctrl-C drains and stops\n",
             times, o.policy.describe(), o.host, server.port());
  std::fflush(stdout);
  const int sig = serve::wait_for_stop_signal();
  fmt::print("{}: draining the queue\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
  std::fflush(stdout);
  server.shutdown();
  std::string passes;
  for (int64_t n : bundle.instances()) passes += fmt::format(" N={}: {}", n, server.metrics().passes(n));
  fmt::print("stopped: {} answered (200), backbone passes{}\n", server.metrics().responses(200), passes);
  return 0;
}

void setup_serve(Cli& cli) {
  auto a = std::make_shared<ServeArgs>();
  auto* sub = cli.app.add_subcommand(
      "serve", "HTTP/JSON inference server: one model per N, N chosen per backbone pass by load (docs/serving.md)");
  sub->add_option("--model", a->models,
                  "A run folder (pipeline.toml + model.safetensors) or model.safetensors; repeat once per N, all "
                  "trained for the same task (e.g. one sweep over model.instances)")
      ->required();
  sub->add_option("--policy", a->policy, "latency: smallest N that keeps the queue within --target-ms; fixed: always --n")
      ->check(CLI::IsMember({"latency", "fixed"}))
      ->capture_default_str();
  sub->add_option("--target-ms", a->target_ms, "latency policy: target for queue wait plus one pass, in ms")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  sub->add_option("--n", a->fixed_n, "fixed policy: the N to serve with");
  sub->add_option("--host", a->options.host, "Address to listen on (default: this machine only)")->capture_default_str();
  sub->add_option("--port", a->options.port, "Port (0: any free port, printed at start)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  sub->add_option("--max-body", a->options.max_body_bytes, "Largest request body in bytes (larger: 413)")
      ->check(CLI::Range(std::size_t{64}, std::size_t{1} << 30))
      ->capture_default_str();
  sub->add_option("--max-inputs", a->options.max_inputs, "Inputs per request at most (more: 400)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 20))
      ->capture_default_str();
  sub->add_option("--queue", a->options.queue_capacity, "Inputs waiting at most (more: 429 with Retry-After)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 24))
      ->capture_default_str();
  sub->add_option("--timeout-ms", a->options.timeout_ms, "Per request, arrival to answer (later: 504)")
      ->check(CLI::Range(int64_t{1}, int64_t{3600000}))
      ->capture_default_str();
  sub->add_option("--read-timeout", a->options.read_timeout_s, "Seconds a client may take to send its request")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  sub->add_option("--http-threads", a->options.http_threads, "Connections served at once")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  sub->add_option("--warmup", a->options.warmup_passes, "Timed passes per model at start-up")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  sub->add_option("--threads", a->options.omp_threads, "OpenMP threads for the models (0: OMP_NUM_THREADS or all cores)")
      ->check(CLI::Range(0, 1024))
      ->capture_default_str();
  cli.run_when(sub, [a] { return run_serve(*a); });
}

}  // namespace

DATAMUX_CLI_COMMAND(50, setup_serve)

}  // namespace datamux::cli
