// A token-tagging bundle: one label per word, served from models trained here on a generated lexicon
// (each word has one tag), at N = 1 and N = 2.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "../pipeline/run_test_util.hpp"
#include "serve_test_util.hpp"

namespace datamux::testing {
namespace {

using nlohmann::json;

TEST(ServeTagging, OneLabelPerWord) {
  const fs::path root = scratch_dir("serve-tagging");
  const std::vector<std::pair<std::string, std::string>> lexicon = {
      {"the", "DET"}, {"a", "DET"},       {"dog", "NOUN"},  {"cat", "NOUN"}, {"bird", "NOUN"},
      {"runs", "VERB"}, {"sleeps", "VERB"}, {"sees", "VERB"}, {"big", "ADJ"},  {"small", "ADJ"}};
  std::mt19937_64 rng(3);
  {
    std::ofstream f(root / "train.conll");
    for (int s = 0; s < 300; ++s) {
      for (int t = 0; t < 2 + static_cast<int>(rng() % 4); ++t) {
        const auto& [w, tag] = lexicon[rng() % lexicon.size()];
        f << w << ' ' << tag << '\n';
      }
      f << '\n';
    }
  }
  std::vector<std::string> dirs;
  for (int n : {1, 2}) {
    const fs::path toml = root / fmt::format("n{}.toml", n);
    std::ofstream(toml) << fmt::format(R"([task]
kind = "token_tagging"
train_file = "{}"
length = 6
vocab = 0
test_fraction = 0.2
validation_fraction = 0.0
[model]
instances = {}
hidden = 32
seed = 2
threads = 1            # tiny matrices: one thread, no OpenMP barriers on a busy machine
[mux]
plugin = "gaussian"
norm = 1.0
[backbone]
plugin = "transformer"
layers = 1
heads = 2
ffn = 64
dropout = 0.0
[demux]
plugin = "index"
[train]
steps = 300
batch = 16
lr = 3e-3
warmup_steps = 10
[eval]
throughput_steps = 1
)",
                                       (root / "train.conll").string(), n);
    const fs::path out = root / fmt::format("n{}", n);
    runtime::run_pipeline(runtime::load_pipeline(toml.string()), quiet_run(out));
    dirs.push_back(out.string());
  }
  serve::Bundle bundle = serve::Bundle::load(dirs);
  EXPECT_TRUE(bundle.token_level());
  serve::Server server(bundle, test_options(fixed(2)));
  server.start();
  httplib::Client c = client_for(server);
  const auto r = c.Post("/v1/predict",
                        R"({"inputs": ["the big dog sees a cat", {"tokens": ["small", "bird", "sleeps"]},
                                       "the dog runs the cat runs"]})",
                        "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const json j = json::parse(r->body);
  ASSERT_EQ(j["results"].size(), 3u);
  EXPECT_EQ(j["results"][0]["labels"], json({"DET", "ADJ", "NOUN", "VERB", "DET", "NOUN"}));
  EXPECT_EQ(j["results"][1]["labels"], json({"ADJ", "NOUN", "VERB"}));
  // Seven words, six positions: the seventh is cut as in training.
  EXPECT_EQ(j["results"][2]["labels"].size(), 6u);
  EXPECT_EQ(j["results"][1]["scores"].size(), 3u);
  EXPECT_EQ(j["results"][1]["n"], 2);
  server.shutdown();
}

}  // namespace
}  // namespace datamux::testing
