// datamux/serve/server.hpp - the HTTP/JSON inference server (cpp-httplib), its queue and dispatcher.
//
//   POST /v1/predict   codec.hpp's JSON; 200, or 400 (bad JSON or input, naming the field), 413 (body
//                      over max_body_bytes), 415 (not JSON), 429 + Retry-After (queue full), 503 +
//                      Retry-After (shutting down), 504 (not served within timeout_ms)
//   GET  /healthz      200 {"status": "ok", ...} while serving, 503 while draining
//   GET  /metrics      Prometheus text (metrics.hpp)
//   any other path 404, another method 405; every error body is {"error": ..., "field": ...}.
//
//   Server server(bundle, options);
//   server.start();                 // warm-up, bind, serve on background threads
//   ... server.port() ...
//   server.shutdown();              // stop accepting, answer everything queued, stop
#pragma once

#include <datamux/serve/bundle.hpp>
#include <datamux/serve/metrics.hpp>
#include <datamux/serve/policy.hpp>

#include <cstdint>
#include <memory>
#include <string>

namespace datamux::serve {

struct ServeOptions {
  std::string host = "127.0.0.1";  // only this machine unless asked otherwise
  int port = 8080;                 // 0: any free port (see Server::port())
  Policy policy;
  std::size_t max_body_bytes = 1 << 20;
  std::size_t max_inputs = 64;        // per request
  std::size_t queue_capacity = 1024;  // inputs waiting, at most
  int64_t timeout_ms = 10000;         // per request, from arrival to answer
  int read_timeout_s = 5;             // a client that sends its request slower than this is cut off
  int http_threads = 64;              // connections served at once
  int warmup_passes = 5;              // timed passes per model at start-up
  int omp_threads = 0;                // OpenMP threads of the dispatcher (0: OpenMP's default)
};

class Server {
 public:
  /// Checks the options against the bundle (InputError: a fixed N the bundle lacks, bad limits).
  Server(Bundle& bundle, ServeOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// Warms up (service times per N), binds (InputError when the address is taken) and serves on
  /// background threads. Returns once the port accepts connections.
  void start();
  int port() const;
  /// Graceful: stops accepting connections, answers new requests on open ones with 503, finishes
  /// every queued input, then stops the threads. Idempotent; safe from any thread but a handler.
  void shutdown();

  Metrics& metrics();
  /// Seconds per pass by N, as the scheduler sees them now.
  std::vector<std::pair<int64_t, double>> service_times() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace datamux::serve
