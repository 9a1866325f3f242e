// The HTTP contract of `datamux serve`: success, every 4xx the server gives (400 naming the field, 404,
// 405, 413, 415, 429), 504 for a request not served in time, a slow client cut off without blocking
// others, /healthz and /metrics.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <thread>

#include "serve_test_util.hpp"

namespace datamux::testing {
namespace {

using nlohmann::json;

serve::Policy latency_policy() {
  serve::Policy p;
  p.kind = serve::Policy::Kind::Latency;
  p.target_s = 10;  // generous: a single input is served at N = 1 even on a busy machine
  return p;
}

class Api : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<serve::Server>(tiny_bundle(), test_options(latency_policy()));
    server_->start();
  }
  void TearDown() override { server_->shutdown(); }

  httplib::Result post(const std::string& body, const std::string& type = "application/json") {
    httplib::Client c = client_for(*server_);
    return c.Post("/v1/predict", body, type.c_str());
  }
  // Status 400 and the field the message names.
  void expect_400(const std::string& body, const std::string& field, const std::string& words) {
    const auto r = post(body);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400) << body;
    const json j = json::parse(r->body);
    EXPECT_EQ(j.value("field", ""), field) << r->body;
    EXPECT_NE(j["error"].get<std::string>().find(words), std::string::npos) << r->body;
  }

  std::unique_ptr<serve::Server> server_;
};

TEST_F(Api, PredictsOneInputOrAList) {
  auto r = post(R"({"id": "abc", "input": "this movie was great"})");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  json j = json::parse(r->body);
  EXPECT_EQ(j["id"], "abc");
  EXPECT_EQ(j["result"]["label"], "pos");
  EXPECT_EQ(j["result"]["n"], 1);  // one input at low load: the smallest N
  const double p = j["result"]["scores"]["pos"].get<double>() + j["result"]["scores"]["neg"].get<double>();
  EXPECT_NEAR(p, 1.0, 1e-5);

  r = post(R"({"inputs": ["it was awful", {"text": "a good film"}, {"tokens": ["the", "plot", "is", "bad"]},
                          {"ids": [2, 3, 4]}]})");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  j = json::parse(r->body);
  ASSERT_EQ(j["results"].size(), 4u);
  EXPECT_EQ(j["results"][0]["label"], "neg");
  EXPECT_EQ(j["results"][1]["label"], "pos");
  EXPECT_EQ(j["results"][2]["label"], "neg");
  EXPECT_FALSE(j.contains("id"));
}

TEST_F(Api, BadJsonOrInputIs400NamingTheField) {
  expect_400("{not json", "", "not valid JSON");
  expect_400("[1, 2]", "", "JSON object");
  expect_400(R"({"inputs": "text"})", "inputs", "must be a list");
  expect_400(R"({"inputs": []})", "inputs", "empty");
  expect_400(R"({})", "inputs", "either");
  expect_400(R"({"inputs": ["a"], "input": "b"})", "inputs", "either");
  expect_400(R"({"inputs": ["a"], "extra": 1})", "extra", "unknown field");
  expect_400(R"({"inputs": ["ok", 5]})", "inputs[1]", "string or an object");
  expect_400(R"({"inputs": [{"text": 5}]})", "inputs[0].text", "must be a string");
  expect_400(R"({"inputs": [{"text": "a", "ids": [2]}]})", "inputs[0]", "exactly one");
  expect_400(R"({"inputs": [{"txt": "a"}]})", "inputs[0]", "exactly one");
  expect_400(R"({"inputs": [{"tokens": ["a", 3]}]})", "inputs[0].tokens[1]", "must be a string");
  expect_400(R"({"inputs": [{"ids": [2, 1.5]}]})", "inputs[0].ids[1]", "integer");
  expect_400(R"({"inputs": [{"ids": [2, 100000]}]})", "inputs[0].ids", "[1] = 100000 is not a token id");
  expect_400(R"({"input": {"ids": [2, 3, 3, 3, 3, 3, 3, 3, 3]}})", "input.ids", "at most 8");
  std::string many = R"({"inputs": [)";
  for (int k = 0; k < 65; ++k) many += std::string(k ? "," : "") + "\"a\"";
  expect_400(many + "]}", "inputs", "at most 64");
}

TEST_F(Api, WrongPathMethodTypeAndSize) {
  httplib::Client c = client_for(*server_);
  auto r = c.Get("/v2/predict");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_NE(r->body.find("/v1/predict"), std::string::npos);

  r = c.Get("/v1/predict");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 405);
  EXPECT_EQ(r->get_header_value("Allow"), "POST");
  r = c.Post("/metrics", "", "text/plain");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 405);
  EXPECT_EQ(r->get_header_value("Allow"), "GET");

  r = post(R"({"input": "x"})", "text/plain");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 415);

  // Over the 1 MiB default: refused before the body is read into a request.
  const std::string big = R"({"input": ")" + std::string(2 << 20, 'a') + R"("})";
  r = post(big);
  if (r) { EXPECT_EQ(r->status, 413); }  // (the server may also cut the upload short: no response then)
  // And the server is still fine.
  r = post(R"({"input": "good"})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST_F(Api, HealthAndMetrics) {
  httplib::Client c = client_for(*server_);
  ASSERT_EQ(post(R"({"inputs": ["good", "bad", "fine"]})")->status, 200);
  auto r = c.Get("/healthz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  const json h = json::parse(r->body);
  EXPECT_EQ(h["status"], "ok");
  EXPECT_EQ(h["instances"], json::array({1, 2, 4}));
  r = c.Get("/metrics");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  for (const char* line : {"# TYPE datamux_serve_request_latency_seconds histogram", "datamux_serve_inputs_total 3",
                           "datamux_serve_responses_total{code=\"200\"}", "datamux_serve_backbone_passes_total{n=\"4\"}",
                           "datamux_serve_instances_used_bucket{le=\"+Inf\"} 3", "datamux_serve_queue_depth 0",
                           "datamux_serve_service_seconds{n=\"2\"}", "process_resident_memory_bytes"})
    EXPECT_NE(r->body.find(line), std::string::npos) << line << "\n" << r->body;
}

TEST(ApiLimits, FullQueueIs429WithRetryAfter) {
  // Room for one waiting input: sixteen clients at once overflow it.
  serve::ServeOptions o = test_options(fixed(1));
  o.queue_capacity = 1;
  o.max_inputs = 1;
  serve::Server server(tiny_bundle(), o);
  server.start();
  std::atomic<int> ok{0}, full{0}, other{0}, retry_after{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 16; ++t)
    clients.emplace_back([&] {
      httplib::Client c = client_for(server);
      for (int k = 0; k < 20; ++k) {
        const auto r = c.Post("/v1/predict", R"({"input": "the film was good"})", "application/json");
        if (r && r->status == 200) ++ok;
        else if (r && r->status == 429) ++full, retry_after += r->get_header_value("Retry-After") == "1";
        else ++other;
      }
    });
  for (auto& t : clients) t.join();
  server.shutdown();
  EXPECT_GT(ok.load(), 0);
  EXPECT_GT(full.load(), 0);
  EXPECT_EQ(retry_after.load(), full.load());
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(server.metrics().responses(429), full.load());
}

TEST(ApiLimits, NotServedInTimeIs504) {
  // 64 inputs at N = 1 are 64 passes: more than a 1 ms budget.
  serve::ServeOptions o = test_options(fixed(1));
  o.timeout_ms = 1;
  serve::Server server(tiny_bundle(), o);
  server.start();
  std::string body = R"({"inputs": [)";
  for (int k = 0; k < 64; ++k) body += std::string(k ? "," : "") + "\"a good film\"";
  httplib::Client c = client_for(server);
  const auto r = c.Post("/v1/predict", body + "]}", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 504);
  EXPECT_NE(r->body.find("timeout-ms"), std::string::npos);
  server.shutdown();
}

TEST(ApiLimits, SlowClientIsCutOffWithoutBlockingOthers) {
  serve::ServeOptions o = test_options(fixed(1));
  o.read_timeout_s = 1;
  serve::Server server(tiny_bundle(), o);
  server.start();
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(server.port()));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  const std::string partial = "POST /v1/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n{\"input\":";
  ASSERT_EQ(::send(fd, partial.data(), partial.size(), 0), static_cast<ssize_t>(partial.size()));
  // Meanwhile another client is served at once.
  httplib::Client c = client_for(server);
  const auto t0 = std::chrono::steady_clock::now();
  const auto r = c.Post("/v1/predict", R"({"input": "good"})", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(900));
  // The stalled one is answered with an error or closed once the read timeout passes, not held.
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char buf[512];
  const ssize_t got = ::recv(fd, buf, sizeof buf, 0);
  EXPECT_GE(got, 0) << "the connection was neither answered nor closed within 5 s";
  if (got > 0) { EXPECT_EQ(std::string(buf, 9), "HTTP/1.1 ") << std::string(buf, static_cast<std::size_t>(got)); }
  if (got > 0) { EXPECT_NE(std::string(buf, static_cast<std::size_t>(got)).find(" 4"), std::string::npos); }
  ::close(fd);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(4));
  server.shutdown();
}

TEST(ApiLimits, ListensOnLoopbackByDefault) {
  EXPECT_EQ(serve::ServeOptions{}.host, "127.0.0.1");
}

}  // namespace
}  // namespace datamux::testing
