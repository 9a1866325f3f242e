// The open-loop load generator.
#include <datamux/error.hpp>
#include <datamux/serve/loadgen.hpp>

#include <fmt/format.h>
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <random>
#include <regex>
#include <thread>

namespace datamux::serve {
namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

struct Arrival {
  int64_t id;
  Clock::time_point at;
};

struct Outcome {
  std::string code;  // "200", "429", ..., "connection"
  double latency_s = 0;
  bool mismatched = false;
  std::vector<int64_t> ns;
};

void check_url(const std::string& url) {
  static const std::regex re(R"(^http://(127\.0\.0\.1|localhost|\[::1\]):([0-9]{1,5})/?$)");
  if (!std::regex_match(url, re))
    throw InputError(fmt::format("--url {}: give http://127.0.0.1:PORT (the load generator only talks to this machine)", url));
}

Outcome send(httplib::Client& client, const Arrival& a, const json& input) {
  json body = json::object();
  body["id"] = a.id;
  body["inputs"] = json::array({input});
  Outcome o;
  const httplib::Result r = client.Post("/v1/predict", body.dump(), "application/json");
  o.latency_s = std::chrono::duration<double>(Clock::now() - a.at).count();
  if (!r) {
    o.code = "connection";
    return o;
  }
  o.code = std::to_string(r->status);
  if (r->status != 200) return o;
  try {
    const json j = json::parse(r->body);
    o.mismatched = j.value("id", int64_t{-1}) != a.id || !j.contains("results") || j["results"].size() != 1;
    if (!o.mismatched)
      for (const json& res : j["results"]) o.ns.push_back(res.value("n", int64_t{0}));
  } catch (const std::exception&) {
    o.mismatched = true;
  }
  return o;
}

void check_options(const LoadgenOptions& o) {
  check_url(o.url);
  if (!(o.rate > 0) || o.rate > 1e6) throw InputError(fmt::format("--rate {}: give a rate in (0, 1000000] requests/s", o.rate));
  if (!(o.duration_s > 0) || o.duration_s > 3600) throw InputError(fmt::format("--duration {}: give (0, 3600] seconds", o.duration_s));
  if (o.connections < 1 || o.connections > 1024) throw InputError("--connections must be in [1, 1024]");
  if (o.max_requests < 1) throw InputError("--max-requests must be at least 1");
}

// Each request's INPUT: a text, or with json_inputs the line as JSON (an image's pixel list, ...).
std::vector<json> request_inputs(const LoadgenOptions& o, const std::vector<std::string>& texts) {
  std::vector<json> inputs;
  for (std::size_t k = 0; k < texts.size(); ++k) {
    if (!o.json_inputs) {
      inputs.emplace_back(texts[k]);
      continue;
    }
    try {
      inputs.push_back(json::parse(texts[k]));
    } catch (const json::exception& e) {
      throw InputError(fmt::format("--inputs line {}: not a JSON value ({}); with --json-inputs each line is one INPUT "
                                   "as POST /v1/predict takes it, e.g. an image's pixel list [0, 12, ...]",
                                   k + 1, e.what()));
    }
  }
  return inputs;
}

void configure(httplib::Client& client, double timeout_s) {
  client.set_keep_alive(true);
  // The body is a second write after the headers: without TCP_NODELAY it waits for the server's
  // delayed ACK (40 ms on Linux) whenever the connection has no other data in flight.
  client.set_tcp_nodelay(true);
  client.set_connection_timeout(std::chrono::duration<double>(std::min(timeout_s, 5.0)));
  client.set_read_timeout(std::chrono::duration<double>(timeout_s));
  client.set_write_timeout(std::chrono::duration<double>(timeout_s));
}

// One load run: the arrivals queued for the connection threads, and the report they fill.
struct LoadRun {
  const LoadgenOptions& o;
  std::vector<json> inputs;
  std::mutex m;
  std::condition_variable cv;
  std::deque<Arrival> pending;
  bool arrivals_done = false;
  int busy = 0;
  LoadgenReport rep;
  Clock::time_point start;

  LoadRun(const LoadgenOptions& options, std::vector<json> request_inputs) : o(options), inputs(std::move(request_inputs)) {}

  // The next arrival to send; false when there is none and no more will come.
  bool take(Arrival& a) {
    std::unique_lock lock(m);
    cv.wait(lock, [&] { return !pending.empty() || arrivals_done; });
    if (pending.empty()) return false;
    a = pending.front();
    pending.pop_front();
    ++busy;
    return true;
  }

  void record(const Outcome& out) {
    std::lock_guard lock(m);
    --busy;
    if (out.code == "200") {
      ++rep.ok;
      rep.latencies_s.push_back(out.latency_s);
      for (int64_t n : out.ns) ++rep.n_used[n];
      rep.mismatched += out.mismatched;
    } else {
      ++rep.errors[out.code];
    }
    rep.elapsed_s = std::max(rep.elapsed_s, std::chrono::duration<double>(Clock::now() - start).count());
  }

  // One connection: sends the arrivals it takes until there are none left.
  void connection() {
    httplib::Client client(o.url);
    configure(client, o.timeout_s);
    auto last_used = Clock::now();
    Arrival a;
    while (take(a)) {
      // A connection idle for a while may be closed by the server's keep-alive timeout at the moment
      // this request goes out; a fresh one avoids losing the request in that race.
      if (Clock::now() - last_used > std::chrono::seconds(1)) client.stop();
      const Outcome out = send(client, a, inputs[static_cast<std::size_t>(a.id) % inputs.size()]);
      last_used = Clock::now();
      record(out);
    }
  }

  void arrive(int64_t k, Clock::time_point at) {
    {
      std::lock_guard lock(m);
      if (busy + static_cast<int>(pending.size()) >= o.connections) ++rep.late_starts;
      pending.push_back({k, at});
      ++rep.sent;
    }
    cv.notify_one();
  }

  // Arrivals on this thread: exponential gaps, so the number in any window is Poisson. Returns the
  // time of the last arrival drawn.
  double generate_arrivals(const std::function<void(const std::string&)>& progress) {
    std::mt19937_64 rng(o.seed);
    std::exponential_distribution<double> gap(o.rate);
    double t = 0;
    auto next_report = start + std::chrono::seconds(1);
    for (int64_t k = 0; k < o.max_requests; ++k) {
      t += gap(rng);
      if (t > o.duration_s) break;
      const auto at = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(t));
      std::this_thread::sleep_until(at);
      arrive(k, at);
      if (progress && Clock::now() >= next_report) {
        std::lock_guard lock(m);
        progress(fmt::format("{:.0f}s: {} sent, {} ok, {} waiting", t, rep.sent, rep.ok, pending.size() + busy));
        next_report += std::chrono::seconds(1);
      }
    }
    return t;
  }

  void end_arrivals() {
    {
      std::lock_guard lock(m);
      arrivals_done = true;
    }
    cv.notify_all();
  }
};

}  // namespace

std::vector<std::string> default_loadgen_texts() {
  return {"Dear friend, you have been selected to receive a free gift card. Click here to claim your prize now!",
          "Hi Tom, the meeting moved to Thursday at 3pm. Can you send me the slides before then? Thanks, Anna",
          "URGENT: your account will be suspended. Verify your password at the link below within 24 hours.",
          "The build failed on the release branch again; I think the new test depends on the locale.",
          "Lowest prices on meds, no prescription needed, discreet shipping worldwide, order today",
          "Attached is the draft of the paper. Section 4 still needs the ablation numbers from last week.",
          "Make money fast working from home!!! Thousands of satisfied customers, limited offer",
          "Are we still on for lunch tomorrow? The new place near the station has good reviews."};
}

double LoadgenReport::percentile_ms(double p) const {
  if (latencies_s.empty()) return 0;
  std::vector<double> v = latencies_s;
  std::sort(v.begin(), v.end());
  // Nearest rank: the smallest value with at least p of the sample at or below it.
  const std::size_t rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(v.size())));
  return v[std::min(v.size() - 1, rank == 0 ? 0 : rank - 1)] * 1e3;
}

json LoadgenReport::to_json() const {
  json n = json::object();
  for (const auto& [k, v] : n_used) n[std::to_string(k)] = v;
  double mean = 0;
  for (double l : latencies_s) mean += l;
  if (!latencies_s.empty()) mean /= static_cast<double>(latencies_s.size());
  return {{"offered_rate", offered_rate},
          {"duration_s", duration_s},
          {"elapsed_s", elapsed_s},
          {"sent", sent},
          {"ok", ok},
          {"errors", errors},
          {"mismatched", mismatched},
          {"late_starts", late_starts},
          {"throughput_per_s", throughput()},
          {"latency_ms",
           {{"p50", percentile_ms(0.50)},
            {"p95", percentile_ms(0.95)},
            {"p99", percentile_ms(0.99)},
            {"max", percentile_ms(1.0)},
            {"mean", mean * 1e3}}},
          {"n_used", n}};
}

LoadgenReport run_loadgen(const LoadgenOptions& o, const std::function<void(const std::string&)>& progress) {
  check_options(o);
  const std::vector<std::string> texts = o.texts.empty() ? default_loadgen_texts() : o.texts;
  LoadRun run(o, request_inputs(o, texts));
  run.rep.offered_rate = o.rate;
  run.rep.duration_s = o.duration_s;

  run.start = Clock::now();
  std::vector<std::thread> workers;
  for (int w = 0; w < o.connections; ++w) workers.emplace_back([&run] { run.connection(); });
  const double t = run.generate_arrivals(progress);
  run.end_arrivals();
  for (auto& w : workers) w.join();
  // Throughput over the offered window, or longer when answers came after it.
  run.rep.elapsed_s = std::max(run.rep.elapsed_s, std::min(t, o.duration_s));
  return run.rep;
}

}  // namespace datamux::serve
