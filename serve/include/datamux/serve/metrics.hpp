// datamux/serve/metrics.hpp - the server's counters, rendered for GET /metrics in the Prometheus text
// exposition format (version 0.0.4): requests, responses by status code, inputs, backbone passes and
// padded slots by N, a request latency histogram, a histogram of the N that served each input, queue
// depth, service time per N and resident memory.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace datamux::serve {

class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void observe(double value, int64_t count = 1);
  /// `name_bucket{le="..."}`, `name_sum`, `name_count` lines (no HELP/TYPE).
  std::string render(const std::string& name) const;
  int64_t count() const { return count_; }

 private:
  std::vector<double> bounds_;
  std::vector<int64_t> counts_;  // per bucket, not cumulative (rendered cumulative)
  double sum_ = 0;
  int64_t count_ = 0;
};

class Metrics {
 public:
  explicit Metrics(const std::vector<int64_t>& instances);
  void request();
  void response(int status);          // every answer, by status code
  void latency(double seconds);       // predict requests: arrival to answer
  void pass(int64_t n, int64_t real_inputs, double seconds);
  void dropped_inputs(int64_t count);

  struct Gauges {
    int64_t queue_depth = 0, queue_capacity = 0;
    std::vector<std::pair<int64_t, double>> service_s;  // N -> EWMA seconds per pass
  };
  std::string render(const Gauges& gauges) const;

  int64_t responses(int status) const;
  int64_t passes(int64_t n) const;

 private:
  mutable std::mutex mutex_;
  int64_t requests_ = 0, inputs_ = 0, dropped_ = 0;
  std::map<int, int64_t> responses_;
  std::map<int64_t, int64_t> passes_, padded_;
  Histogram latency_;
  Histogram instances_used_;
};

/// This process's resident set size in bytes (/proc/self/statm), 0 when unavailable.
int64_t resident_bytes();

}  // namespace datamux::serve
