// datamux/serve/loadgen.hpp - an open-loop load generator for `datamux serve` (`datamux loadgen`).
//
// Requests arrive as a Poisson process of the given rate (exponential gaps, seeded), whatever the server
// answers: a slow server makes requests wait in the generator, and that wait counts in their latency
// (measured from the scheduled arrival, so overload is not hidden by the client slowing down). Bounded
// in count (max_requests) and time (duration, then at most timeout for the last answers). Only loopback
// addresses: the load stays on this machine.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace datamux::serve {

struct LoadgenOptions {
  std::string url;              // http://127.0.0.1:PORT
  double rate = 10;             // requests per second, offered
  double duration_s = 10;       // arrivals stop after this
  int64_t max_requests = 100000;
  int connections = 64;         // requests in flight at most (one keep-alive connection each)
  double timeout_s = 30;        // per request
  std::vector<std::string> texts;  // request inputs, used in turn (one per request)
  bool json_inputs = false;        // each of `texts` is a JSON INPUT (e.g. an image's pixel list), not a text
  uint64_t seed = 1;
};

struct LoadgenReport {
  double offered_rate = 0, duration_s = 0, elapsed_s = 0;
  int64_t sent = 0, ok = 0;
  std::map<std::string, int64_t> errors;  // status code (or "connection") -> count
  int64_t mismatched = 0;   // 200s whose id or result count did not match the request
  int64_t late_starts = 0;  // arrivals that waited for a free connection
  std::vector<double> latencies_s;  // of the 200s
  std::map<int64_t, int64_t> n_used;  // N that served each input
  double percentile_ms(double p) const;
  double throughput() const { return elapsed_s > 0 ? static_cast<double>(ok) / elapsed_s : 0; }
  nlohmann::json to_json() const;
};

/// Throws InputError for a malformed or non-loopback URL, rate/duration/connections out of range, or
/// (json_inputs) an input that is not JSON.
LoadgenReport run_loadgen(const LoadgenOptions& options, const std::function<void(const std::string&)>& progress = {});

/// Texts for requests when none are given: short e-mail-like lines.
std::vector<std::string> default_loadgen_texts();

}  // namespace datamux::serve
