// Graceful shutdown answers everything queued; a short open-loop load test on 127.0.0.1 loses and
// duplicates nothing; `datamux serve` drains and exits 0 on SIGTERM.
#include <datamux/serve/loadgen.hpp>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <atomic>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <thread>

#include "serve_test_util.hpp"

extern char** environ;

namespace datamux::testing {
namespace {

using nlohmann::json;

std::string many_inputs(int count) {
  std::string body = R"({"inputs": [)";
  for (int k = 0; k < count; ++k) body += std::string(k ? "," : "") + "\"the film was good\"";
  return body + "]}";
}

TEST(Shutdown, DrainsTheQueueThenStops) {
  // Twelve clients keep sending requests of 64 inputs at N = 1, so the queue is never empty; shutdown
  // starts in the middle. Every request the server took in is answered in full (200); a request that
  // comes after the start of the drain gets 503 or finds the port closed; nothing is lost.
  serve::Server server(tiny_bundle(), test_options(fixed(1)));
  server.start();
  std::atomic<bool> stopping{false};
  std::atomic<int> ok{0}, incomplete{0}, refused_before_stop{0}, after_stop{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 12; ++t)
    clients.emplace_back([&] {
      httplib::Client c = client_for(server);
      c.set_connection_timeout(std::chrono::seconds(1));
      while (!stopping.load()) {
        const bool sent_before_stop = !stopping.load();
        const auto r = c.Post("/v1/predict", many_inputs(64), "application/json");
        if (r && r->status == 200) {
          if (json::parse(r->body)["results"].size() == 64) ++ok;
          else ++incomplete;
        } else if (!sent_before_stop || stopping.load()) {
          ++after_stop;  // 503 or a closed port: the drain had begun
        } else {
          ++refused_before_stop;
        }
      }
    });
  httplib::Client probe = client_for(server);
  int64_t depth = 0;
  for (int k = 0; k < 1000 && depth < 64 * 4; ++k) {
    const auto r = probe.Get("/healthz");
    if (r) depth = json::parse(r->body)["queue_depth"].get<int64_t>();
  }
  probe.stop();
  const int answered_before = ok.load();
  stopping = true;
  server.shutdown();
  for (auto& t : clients) t.join();
  EXPECT_GE(depth, 64 * 4) << "the queue never filled: nothing to drain";
  EXPECT_GT(ok.load(), answered_before) << "requests queued at shutdown were not answered";
  EXPECT_EQ(incomplete.load(), 0);
  EXPECT_EQ(refused_before_stop.load(), 0);
  // Every input taken in was served: the 200s times 64, nothing dropped.
  const std::string m = server.metrics().render({});
  EXPECT_NE(m.find(fmt::format("datamux_serve_inputs_total {}\n", 64 * ok.load())), std::string::npos) << m;
  EXPECT_NE(m.find("datamux_serve_dropped_inputs_total 0\n"), std::string::npos) << m;
  // Stopped: nothing listens any more.
  httplib::Client after = client_for(server);
  after.set_connection_timeout(std::chrono::seconds(1));
  EXPECT_FALSE(after.Get("/healthz"));
}

TEST(ServeLoad, OpenLoopShortRunLosesNothing) {
  serve::Policy p;
  p.kind = serve::Policy::Kind::Latency;
  p.target_s = 0.02;
  serve::Server server(tiny_bundle(), test_options(p));
  server.start();
  serve::LoadgenOptions o;
  o.url = fmt::format("http://127.0.0.1:{}", server.port());
  o.rate = 300;
  o.duration_s = 1.0;
  o.max_requests = 250;
  o.connections = 16;
  const serve::LoadgenReport rep = serve::run_loadgen(o);
  server.shutdown();
  EXPECT_GT(rep.sent, 150);
  EXPECT_LE(rep.sent, 250);
  EXPECT_EQ(rep.ok, rep.sent) << rep.to_json().dump();
  EXPECT_TRUE(rep.errors.empty()) << rep.to_json().dump();
  EXPECT_EQ(rep.mismatched, 0);
  int64_t served = 0;
  for (const auto& [n, count] : rep.n_used) served += count;
  EXPECT_EQ(served, rep.ok);
  EXPECT_EQ(server.metrics().responses(200), rep.ok);
  const json j = rep.to_json();
  EXPECT_LE(j["latency_ms"]["p50"].get<double>(), j["latency_ms"]["p99"].get<double>());
  EXPECT_GT(j["throughput_per_s"].get<double>(), 100.0);
}

TEST(ServeLoad, LoadgenRefusesOtherHosts) {
  serve::LoadgenOptions o;
  o.url = "http://example.com:80";
  EXPECT_THROW(serve::run_loadgen(o), InputError);
  o.url = "http://127.0.0.1:8080";
  o.rate = 0;
  EXPECT_THROW(serve::run_loadgen(o), InputError);
}

TEST(ServeCli, ServeDrainsAndExitsZeroOnSigterm) {
  const auto dirs = trained_runs("sentiment");
  const std::string bin = std::string(DATAMUX_BINARY_DIR) + "/bin/datamux";
  int out[2];
  ASSERT_EQ(::pipe(out), 0);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_addclose(&fa, out[0]);
  std::vector<std::string> args = {bin, "serve", "--port", "0", "--warmup", "1", "--model", dirs[0], "--model", dirs[2]};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  ASSERT_EQ(posix_spawn(&pid, bin.c_str(), &fa, nullptr, argv.data(), environ), 0);
  ::close(out[1]);
  FILE* f = ::fdopen(out[0], "r");
  int port = 0;
  char line[1024];
  while (port == 0 && std::fgets(line, sizeof line, f))
    if (const char* at = std::strstr(line, "listening on http://127.0.0.1:")) port = std::atoi(at + 30);
  ASSERT_GT(port, 0);
  httplib::Client c("127.0.0.1", port);
  const auto r = c.Post("/v1/predict", many_inputs(3), "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  ::kill(pid, SIGTERM);
  std::string rest;
  while (std::fgets(line, sizeof line, f)) rest += line;
  std::fclose(f);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_NE(rest.find("SIGTERM: draining"), std::string::npos) << rest;
  EXPECT_NE(rest.find("stopped: 1 answered"), std::string::npos) << rest;
}

}  // namespace
}  // namespace datamux::testing
