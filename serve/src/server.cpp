// The HTTP layer over cpp-httplib: routes, limits, status codes, and the graceful shutdown order.
#include <datamux/error.hpp>
#include <datamux/serve/codec.hpp>
#include <datamux/serve/dispatcher.hpp>
#include <datamux/serve/server.hpp>

#include <fmt/format.h>
#include <httplib.h>

#include <sys/socket.h>

#include <atomic>
#include <mutex>
#include <thread>

namespace datamux::serve {
namespace {

// cpp-httplib 0.11 listens with a backlog of 5: a burst of new connections overflows it and the
// client's request is lost after a second. Listening again on the bound socket widens the backlog.
class HttpServer : public httplib::Server {
 public:
  void widen_backlog(int backlog) { ::listen(svr_sock_, backlog); }
};

}  // namespace

struct Server::Impl {
  Impl(Bundle& b, ServeOptions o)
      : bundle(b),
        options(std::move(o)),
        queue(options.queue_capacity),
        times(b.instances()),
        metrics(b.instances()),
        dispatcher(b, queue, times, options.policy, metrics, options.omp_threads) {}

  Bundle& bundle;
  ServeOptions options;
  RequestQueue queue;
  ServiceTimes times;
  Metrics metrics;
  Dispatcher dispatcher;
  HttpServer http;
  std::thread listener;
  int port = 0;
  std::atomic<bool> draining{false};
  std::mutex shutdown_mutex;
  bool stopped = false;

  void routes();
  void predict(const httplib::Request& req, httplib::Response& res);
};

namespace {

void json_error(httplib::Response& res, int status, const std::string& message, const std::string& field = {}) {
  res.status = status;
  res.set_content(error_body(message, field), "application/json");
}

const char* status_message(int status) {
  switch (status) {
    case 400: return "bad request";
    case 404: return "no such path: the server answers POST /v1/predict, GET /healthz and GET /metrics";
    case 405: return "method not allowed";
    case 408: return "the request was not received in time";
    case 413: return "the request body is larger than the server accepts (--max-body)";
    case 414: return "the request line is too long";
    case 415: return "the body must be JSON (Content-Type: application/json)";
    default: return status >= 500 ? "server error" : "request refused";
  }
}

}  // namespace

void Server::Impl::predict(const httplib::Request& req, httplib::Response& res) {
  const auto arrived = Clock::now();
  auto seconds_since = [&] { return std::chrono::duration<double>(Clock::now() - arrived).count(); };
  if (draining.load()) {
    res.set_header("Retry-After", "1");
    return json_error(res, 503, "the server is shutting down; retry elsewhere or later");
  }
  const std::string type = req.get_header_value("Content-Type");
  if (!type.empty() && type.rfind("application/json", 0) != 0)
    return json_error(res, 415, fmt::format("Content-Type is {}; send application/json", type), "Content-Type");
  PredictRequest parsed;
  try {
    parsed = parse_predict(req.body, bundle, options.max_inputs);
  } catch (const RequestError& e) {
    return json_error(res, e.status(), e.what(), e.field());
  }
  auto pending = std::make_shared<PendingRequest>(std::move(parsed.inputs));
  pending->arrived = arrived;
  std::future<void> done = pending->done.get_future();
  switch (queue.try_push(pending)) {
    case RequestQueue::Push::Full:
      res.set_header("Retry-After", "1");
      return json_error(res, 429, fmt::format("the queue is full ({} inputs waiting); retry after a second", queue.capacity()));
    case RequestQueue::Push::Closed:
      res.set_header("Retry-After", "1");
      return json_error(res, 503, "the server is shutting down; retry elsewhere or later");
    case RequestQueue::Push::Accepted: break;
  }
  const auto deadline = arrived + std::chrono::milliseconds(options.timeout_ms);
  if (done.wait_until(deadline) != std::future_status::ready) {
    pending->abandoned = true;  // the dispatcher drops its inputs still queued
    metrics.latency(seconds_since());
    return json_error(res, 504, fmt::format("not served within {} ms (--timeout-ms)", options.timeout_ms));
  }
  for (const InputResult& r : pending->results)
    if (r.probs.empty()) return json_error(res, 500, "the model failed on this request (see the server's log)");
  parsed.inputs = std::move(pending->inputs);
  res.set_content(format_predict(parsed, pending->results, bundle), "application/json");
  metrics.latency(seconds_since());
}

void Server::Impl::routes() {
  http.Post("/v1/predict", [this](const httplib::Request& req, httplib::Response& res) { predict(req, res); });
  http.Get("/healthz", [this](const httplib::Request&, httplib::Response& res) {
    nlohmann::json dtype = nlohmann::json::object();  // per N: what its passes run in
    for (const auto& m : bundle.models()) dtype[std::to_string(m->instances)] = m->dtype();
    nlohmann::json j = {{"status", draining ? "draining" : "ok"},
                        {"task", bundle.task_kind()},
                        {"instances", bundle.instances()},
                        {"dtype", dtype},
                        {"policy", options.policy.describe()},
                        {"queue_depth", queue.depth()}};
    if (bundle.image()) {
      const data::ImageInput& in = bundle.image_input();
      j["image"] = {{"rows", in.rows}, {"cols", in.cols}, {"channels", in.channels}};
    }
    res.status = draining ? 503 : 200;
    res.set_content(j.dump(), "application/json");
  });
  http.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    Metrics::Gauges g;
    g.queue_depth = static_cast<int64_t>(queue.depth());
    g.queue_capacity = static_cast<int64_t>(queue.capacity());
    const std::vector<double> t = times.table();
    for (std::size_t i = 0; i < t.size(); ++i) g.service_s.emplace_back(times.ns()[i], t[i]);
    res.set_content(metrics.render(g), "text/plain; version=0.0.4");
  });
  // A known path with another method is 405 (with Allow), before routing would call it 404.
  http.set_pre_routing_handler([](const httplib::Request& req, httplib::Response& res) {
    const char* allow = req.path == "/v1/predict" ? "POST" : (req.path == "/healthz" || req.path == "/metrics") ? "GET" : nullptr;
    if (allow && req.method != allow && !(req.method == "HEAD" && std::string(allow) == "GET")) {
      res.set_header("Allow", allow);
      json_error(res, 405, fmt::format("{} {}: use {}", req.method, req.path, allow));
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  http.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.body.empty()) json_error(res, res.status, status_message(res.status));
  });
  http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "unknown error";
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    json_error(res, 500, "internal error: " + what);
  });
  http.set_logger([this](const httplib::Request&, const httplib::Response& res) {
    metrics.request();
    metrics.response(res.status);
  });
}

Server::Server(Bundle& bundle, ServeOptions options) {
  const std::vector<int64_t> ns = bundle.instances();
  if (options.policy.kind == Policy::Kind::Fixed && std::find(ns.begin(), ns.end(), options.policy.fixed_n) == ns.end()) {
    std::string have;
    for (int64_t n : ns) have += (have.empty() ? "" : ", ") + std::to_string(n);
    throw InputError(fmt::format("--n {}: the bundle has no model for it (it has N = {})", options.policy.fixed_n, have));
  }
  if (options.policy.kind == Policy::Kind::Latency && !(options.policy.target_s > 0))
    throw InputError("--target-ms must be > 0");
  if (options.queue_capacity < options.max_inputs)
    throw InputError(fmt::format("--queue {} is smaller than --max-inputs {}: such a request could never enter",
                                 options.queue_capacity, options.max_inputs));
  if (options.http_threads < 1) throw InputError("--http-threads must be at least 1");
  impl_ = std::make_unique<Impl>(bundle, std::move(options));
}

Server::~Server() {
  if (impl_) shutdown();
}

void Server::start() {
  Impl& s = *impl_;
  s.dispatcher.warm_up(s.options.warmup_passes);
  const int threads = s.options.http_threads;
  s.http.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  s.http.set_payload_max_length(s.options.max_body_bytes);
  s.http.set_read_timeout(s.options.read_timeout_s, 0);
  s.http.set_write_timeout(s.options.read_timeout_s, 0);
  s.http.set_keep_alive_timeout(2);  // an idle keep-alive connection holds a thread; shutdown waits for it
  s.http.set_keep_alive_max_count(100000);  // keep a busy client's connection (httplib closes after 5)
  s.http.set_tcp_nodelay(true);
  s.routes();
  if (s.options.port == 0) {
    s.port = s.http.bind_to_any_port(s.options.host);
    if (s.port < 0) throw InputError(fmt::format("--host {}: cannot listen there", s.options.host));
  } else {
    if (!s.http.bind_to_port(s.options.host, s.options.port))
      throw InputError(fmt::format("--host {} --port {}: cannot listen there (in use, or not an address of this machine)",
                                   s.options.host, s.options.port));
    s.port = s.options.port;
  }
  s.http.widen_backlog(1024);
  s.dispatcher.start();
  s.listener = std::thread([&s] { s.http.listen_after_bind(); });
}

int Server::port() const { return impl_->port; }

void Server::shutdown() {
  Impl& s = *impl_;
  std::lock_guard lock(s.shutdown_mutex);
  if (s.stopped) return;
  s.draining = true;                                  // new requests on open connections: 503
  s.http.stop();                                      // no new connections; handlers in flight finish
  if (s.listener.joinable()) s.listener.join();       // returns when every handler has answered
  s.queue.close();                                    // whatever is still queued is served, then
  s.dispatcher.join();                                // the dispatcher stops
  s.stopped = true;
}

Metrics& Server::metrics() { return impl_->metrics; }

std::vector<std::pair<int64_t, double>> Server::service_times() const {
  std::vector<std::pair<int64_t, double>> out;
  const std::vector<double> t = impl_->times.table();
  for (std::size_t i = 0; i < t.size(); ++i) out.emplace_back(impl_->times.ns()[i], t[i]);
  return out;
}

}  // namespace datamux::serve
