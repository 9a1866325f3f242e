// Counters and the Prometheus text rendering.
#include <datamux/serve/metrics.hpp>

#include <fmt/format.h>
#include <unistd.h>

#include <fstream>

namespace datamux::serve {

Histogram::Histogram(std::vector<double> upper_bounds) : bounds_(std::move(upper_bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::observe(double value, int64_t count) {
  std::size_t b = 0;
  while (b < bounds_.size() && value > bounds_[b]) ++b;
  counts_[b] += count;
  sum_ += value * static_cast<double>(count);
  count_ += count;
}

std::string Histogram::render(const std::string& name) const {
  std::string s;
  int64_t cumulative = 0;
  for (std::size_t b = 0; b < bounds_.size(); ++b) {
    cumulative += counts_[b];
    s += fmt::format("{}_bucket{{le=\"{}\"}} {}\n", name, bounds_[b], cumulative);
  }
  s += fmt::format("{}_bucket{{le=\"+Inf\"}} {}\n{}_sum {}\n{}_count {}\n", name, count_, name, sum_, name, count_);
  return s;
}

namespace {
std::vector<double> as_bounds(const std::vector<int64_t>& ns) {
  std::vector<double> b;
  for (int64_t n : ns) b.push_back(static_cast<double>(n));
  return b;
}
}  // namespace

Metrics::Metrics(const std::vector<int64_t>& instances)
    : latency_({0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10}), instances_used_(as_bounds(instances)) {
  for (int64_t n : instances) passes_[n] = 0, padded_[n] = 0;
}

void Metrics::request() {
  std::lock_guard lock(mutex_);
  ++requests_;
}

void Metrics::response(int status) {
  std::lock_guard lock(mutex_);
  ++responses_[status];
}

void Metrics::latency(double seconds) {
  std::lock_guard lock(mutex_);
  latency_.observe(seconds);
}

void Metrics::pass(int64_t n, int64_t real_inputs, double seconds) {
  std::lock_guard lock(mutex_);
  ++passes_[n];
  padded_[n] += n - real_inputs;
  inputs_ += real_inputs;
  instances_used_.observe(static_cast<double>(n), real_inputs);
}

void Metrics::dropped_inputs(int64_t count) {
  std::lock_guard lock(mutex_);
  dropped_ += count;
}

int64_t Metrics::responses(int status) const {
  std::lock_guard lock(mutex_);
  const auto it = responses_.find(status);
  return it == responses_.end() ? 0 : it->second;
}

int64_t Metrics::passes(int64_t n) const {
  std::lock_guard lock(mutex_);
  const auto it = passes_.find(n);
  return it == passes_.end() ? 0 : it->second;
}

std::string Metrics::render(const Gauges& g) const {
  std::lock_guard lock(mutex_);
  std::string s;
  auto head = [&](const char* name, const char* type, const char* help) {
    s += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  };
  head("datamux_serve_requests_total", "counter", "HTTP requests answered (any path, any status)");
  s += fmt::format("datamux_serve_requests_total {}\n", requests_);
  head("datamux_serve_responses_total", "counter", "HTTP responses by status code");
  for (const auto& [code, count] : responses_) s += fmt::format("datamux_serve_responses_total{{code=\"{}\"}} {}\n", code, count);
  head("datamux_serve_inputs_total", "counter", "inputs served (one request may hold several)");
  s += fmt::format("datamux_serve_inputs_total {}\n", inputs_);
  head("datamux_serve_dropped_inputs_total", "counter", "queued inputs dropped because their request timed out");
  s += fmt::format("datamux_serve_dropped_inputs_total {}\n", dropped_);
  head("datamux_serve_backbone_passes_total", "counter", "backbone passes by the N of the model that ran");
  for (const auto& [n, count] : passes_) s += fmt::format("datamux_serve_backbone_passes_total{{n=\"{}\"}} {}\n", n, count);
  head("datamux_serve_padded_slots_total", "counter", "slots filled by duplicating a real input (outputs dropped)");
  for (const auto& [n, count] : padded_) s += fmt::format("datamux_serve_padded_slots_total{{n=\"{}\"}} {}\n", n, count);
  head("datamux_serve_request_latency_seconds", "histogram", "predict requests: time from arrival to answer");
  s += latency_.render("datamux_serve_request_latency_seconds");
  head("datamux_serve_instances_used", "histogram", "the N of the pass that served each input");
  s += instances_used_.render("datamux_serve_instances_used");
  head("datamux_serve_queue_depth", "gauge", "inputs waiting for a backbone pass");
  s += fmt::format("datamux_serve_queue_depth {}\n", g.queue_depth);
  head("datamux_serve_queue_capacity", "gauge", "inputs the queue holds at most (more are refused with 429)");
  s += fmt::format("datamux_serve_queue_capacity {}\n", g.queue_capacity);
  head("datamux_serve_service_seconds", "gauge", "seconds per backbone pass by N (warm-up, then moving average)");
  for (const auto& [n, sec] : g.service_s) s += fmt::format("datamux_serve_service_seconds{{n=\"{}\"}} {}\n", n, sec);
  head("process_resident_memory_bytes", "gauge", "resident memory of the server process");
  s += fmt::format("process_resident_memory_bytes {}\n", resident_bytes());
  return s;
}

int64_t resident_bytes() {
  std::ifstream f("/proc/self/statm");
  int64_t size = 0, resident = 0;
  if (!(f >> size >> resident)) return 0;
  return resident * static_cast<int64_t>(::sysconf(_SC_PAGESIZE));
}

}  // namespace datamux::serve
