// A partial group is filled by duplicating its real inputs, and the duplicates' outputs never reach a
// response: every request gets exactly its own results, computed in the row the server formed.
#include <datamux/serve/inference.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <thread>

#include "serve_test_util.hpp"

namespace datamux::testing {
namespace {

using nlohmann::json;

TEST(Padding, FillRowRepeatsRealInputsOnly) {
  serve::EncodedInput a, b;
  a.ids = {2, 5};
  b.ids = {2, 6};
  const auto row = serve::fill_row({&a, &b}, 5);
  ASSERT_EQ(row.size(), 5u);
  EXPECT_EQ(row[0], &a);
  EXPECT_EQ(row[1], &b);
  EXPECT_EQ(row[2], &a);  // duplicates, in turn
  EXPECT_EQ(row[3], &b);
  EXPECT_EQ(row[4], &a);
  EXPECT_THROW(serve::fill_row({}, 4), std::invalid_argument);
  EXPECT_THROW(serve::fill_row({&a, &b}, 1), std::invalid_argument);
}

TEST(Padding, OneInputAtNFourIsServedFromItsPaddedRow) {
  serve::Bundle& bundle = tiny_bundle();
  serve::Server server(bundle, test_options(fixed(4)));
  server.start();
  httplib::Client c = client_for(server);
  const auto r = c.Post("/v1/predict", R"({"inputs": ["the plot was bad"]})", "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  const json j = json::parse(r->body);
  ASSERT_EQ(j["results"].size(), 1u);  // not 4
  EXPECT_EQ(j["results"][0]["n"], 4);
  // The scores are slot 0 of the row [x, x, x, x].
  const serve::EncodedInput x = bundle.encode_text("the plot was bad");
  const auto want = serve::run_row(bundle.model(4), serve::fill_row({&x}, 4), false, 2);
  EXPECT_NEAR(j["results"][0]["scores"]["neg"].get<double>(), want[0][bundle.labels().find("neg")], 1e-6);
  server.shutdown();
  EXPECT_EQ(server.metrics().passes(4), 1);
  // 3 padded slots, 1 input.
  serve::Metrics::Gauges g;
  const std::string m = server.metrics().render(g);
  EXPECT_NE(m.find("datamux_serve_padded_slots_total{n=\"4\"} 3"), std::string::npos) << m;
  EXPECT_NE(m.find("datamux_serve_inputs_total 1\n"), std::string::npos) << m;
}

TEST(Padding, ListsSplitAcrossPassesMapBackInOrder) {
  // One client, fixed N = 4: a request of k inputs is served in passes of inputs [0..3], [4..7], ...,
  // the last one padded with duplicates. Every result must be its own input's slot in that row.
  serve::Bundle& bundle = tiny_bundle();
  serve::Server server(bundle, test_options(fixed(4)));
  server.start();
  httplib::Client c = client_for(server);
  const std::vector<std::string> texts = {"the movie was very great", "it is a very bad",  "this film was good plot",
                                          "the plot was awful it",    "a happy film is it", "it is sad the movie",
                                          "the film was fine a"};
  int64_t inputs = 0, padded = 0;
  for (std::size_t k = 1; k <= texts.size(); ++k) {
    json list = json::array();
    for (std::size_t i = 0; i < k; ++i) list.push_back(texts[i]);
    const auto r = c.Post("/v1/predict", json{{"inputs", list}}.dump(), "application/json");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200);
    const json j = json::parse(r->body);
    ASSERT_EQ(j["results"].size(), k);
    std::vector<serve::EncodedInput> enc;
    for (std::size_t i = 0; i < k; ++i) enc.push_back(bundle.encode_text(texts[i]));
    for (std::size_t start = 0; start < k; start += 4) {
      std::vector<const serve::EncodedInput*> real;
      for (std::size_t i = start; i < std::min(k, start + 4); ++i) real.push_back(&enc[i]);
      const auto want = serve::run_row(bundle.model(4), serve::fill_row(real, 4), false, 2);
      for (std::size_t i = 0; i < real.size(); ++i)
        EXPECT_NEAR(j["results"][start + i]["scores"]["pos"].get<double>(), want[i][bundle.labels().find("pos")], 1e-6)
            << "request of " << k << ", input " << start + i;
      padded += 4 - static_cast<int64_t>(real.size());
    }
    inputs += static_cast<int64_t>(k);
  }
  server.shutdown();
  const std::string m = server.metrics().render({});
  EXPECT_NE(m.find(fmt::format("datamux_serve_inputs_total {}\n", inputs)), std::string::npos) << m;
  EXPECT_NE(m.find(fmt::format("datamux_serve_padded_slots_total{{n=\"4\"}} {}\n", padded)), std::string::npos) << m;
}

TEST(Padding, ConcurrentRequestsGetTheirOwnResultsOnly) {
  // Six clients send lists of 1 to 3 inputs at once; groups mix requests and are padded. Every response
  // holds exactly one result per input, with the request's id, and the inputs served are the inputs
  // sent (padding is not counted). Labels: the inputs' own in nearly every case; a multiplexed model's
  // output does depend on the other inputs of its row, so this tiny one is not asked to be perfect.
  serve::Bundle& bundle = tiny_bundle();
  serve::Server server(bundle, test_options(fixed(4)));
  server.start();
  const std::vector<std::pair<std::string, std::string>> texts = {
      {"the movie was very great", "pos"}, {"it is a very bad", "neg"},  {"this film was good plot", "pos"},
      {"the plot was awful it", "neg"},    {"a happy film is it", "pos"}, {"it is sad the movie", "neg"}};
  std::atomic<int> responses{0}, wrong_shape{0}, wrong_label{0}, inputs_sent{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 6; ++t)
    clients.emplace_back([&, t] {
      httplib::Client c = client_for(server);
      for (int k = 0; k < 15; ++k) {
        const int count = 1 + (t + k) % 3;
        json inputs = json::array();
        std::vector<std::string> want;
        for (int i = 0; i < count; ++i) {
          const auto& [text, label] = texts[static_cast<std::size_t>((t * 7 + k * 3 + i) % texts.size())];
          inputs.push_back(text);
          want.push_back(label);
        }
        const int id = t * 1000 + k;
        const auto r = c.Post("/v1/predict", json{{"id", id}, {"inputs", inputs}}.dump(), "application/json");
        inputs_sent += count;
        if (!r || r->status != 200) {
          ++wrong_shape;
          continue;
        }
        ++responses;
        const json j = json::parse(r->body);
        if (j["id"] != id || j["results"].size() != want.size()) {
          ++wrong_shape;
          continue;
        }
        for (std::size_t i = 0; i < want.size(); ++i) wrong_label += j["results"][i]["label"] != want[i];
      }
    });
  for (auto& c : clients) c.join();
  server.shutdown();
  EXPECT_EQ(responses.load(), 90);
  EXPECT_EQ(wrong_shape.load(), 0);
  EXPECT_LE(wrong_label.load(), inputs_sent.load() / 10);
  const std::string m = server.metrics().render({});
  EXPECT_NE(m.find(fmt::format("datamux_serve_inputs_total {}\n", inputs_sent.load())), std::string::npos) << m;
}

}  // namespace
}  // namespace datamux::testing
