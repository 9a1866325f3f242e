// The label served for an input is the one `datamux eval` gives it with the same model and N: the
// evaluation batches of the test split (the runtime's own task, data and forward pass) against the
// server's rows holding the same inputs, both one pass at a time and over HTTP.
#include <datamux/core/checkpoint.hpp>
#include <datamux/serve/inference.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "serve_test_util.hpp"

namespace datamux::testing {
namespace {

using nlohmann::json;

struct EvalRows {
  std::vector<std::vector<serve::EncodedInput>> groups;  // one multiplexed row each, N inputs
  std::vector<std::vector<int32_t>> labels;              // eval's argmax per slot
  std::vector<std::vector<std::vector<float>>> probs;    // eval's softmax per slot
  std::vector<std::vector<bool>> real;                   // slot holds a test example (not eval's padding)
};

// `datamux eval`'s path: the pipeline's task and model (build_pipeline), the checkpoint, eval batches of
// `rows` multiplexed rows, forward in eval mode without a graph.
EvalRows eval_rows(const std::string& dir, int64_t rows) {
  runtime::BuiltPipeline p = runtime::build_pipeline(runtime::load_pipeline(dir + "/pipeline.toml"));
  load_into(*p.model, dir + "/model.safetensors", true);
  p.model->eval();
  const int64_t n = p.model->context().instances;
  EvalRows out;
  NoGradGuard no_grad;
  for (const runtime::Batch& b : p.task->eval_batches(runtime::Split::Test, n, rows)) {
    const Tensor logits = p.model->forward(b).main.logits.contiguous();
    const int64_t B = b.inputs.size(1), L = b.inputs.size(2), C = logits.size(-1);
    for (int64_t j = 0; j < B; ++j) {
      std::vector<serve::EncodedInput> group;
      std::vector<int32_t> labels;
      std::vector<std::vector<float>> probs;
      std::vector<bool> real;
      for (int64_t i = 0; i < n; ++i) {
        serve::EncodedInput e;
        const int32_t* ids = b.inputs.data<int32_t>() + (i * B + j) * L;
        e.ids.assign(ids, ids + L);
        e.positions = 1;
        group.push_back(e);
        const float* z = logits.data<float>() + (i * B + j) * C;
        std::vector<float> pr(z, z + C);
        const float m = *std::max_element(pr.begin(), pr.end());
        float sum = 0;
        for (float& v : pr) sum += (v = std::exp(v - m));
        for (float& v : pr) v /= sum;
        labels.push_back(static_cast<int32_t>(std::max_element(z, z + C) - z));
        probs.push_back(pr);
        real.push_back(b.targets.data<int32_t>()[i * B + j] != runtime::kIgnore);
      }
      out.groups.push_back(group);
      out.labels.push_back(labels);
      out.probs.push_back(probs);
      out.real.push_back(real);
    }
  }
  return out;
}

TEST(ServeAgreesWithEval, SameRowSameScoresAtEveryN) {
  serve::Bundle& bundle = tiny_bundle();
  const auto dirs = trained_runs("sentiment");
  for (std::size_t k = 0; k < dirs.size(); ++k) {
    const int64_t n = tiny_ns()[k];
    // One row per eval step (bit-identical pass) and eval's own [eval] batch of 16 rows.
    for (int64_t rows : {int64_t{1}, int64_t{16}}) {
      const EvalRows ev = eval_rows(dirs[k], rows);
      ASSERT_FALSE(ev.groups.empty());
      int64_t compared = 0;
      for (std::size_t g = 0; g < ev.groups.size(); ++g) {
        std::vector<const serve::EncodedInput*> row;
        for (const auto& e : ev.groups[g]) row.push_back(&e);
        const auto probs = serve::run_row(bundle.model(n), row, false, bundle.labels().size());
        for (int64_t i = 0; i < n; ++i) {
          if (!ev.real[g][static_cast<std::size_t>(i)]) continue;
          const auto& got = probs[static_cast<std::size_t>(i)];
          const int32_t label = static_cast<int32_t>(std::max_element(got.begin(), got.end()) - got.begin());
          EXPECT_EQ(label, ev.labels[g][static_cast<std::size_t>(i)]) << "N=" << n << " rows=" << rows << " group " << g;
          for (std::size_t c = 0; c < got.size(); ++c)
            EXPECT_NEAR(got[c], ev.probs[g][static_cast<std::size_t>(i)][c], rows == 1 ? 1e-6 : 1e-4);
          ++compared;
        }
      }
      EXPECT_GT(compared, 50);
    }
  }
}

TEST(ServeAgreesWithEval, OverHttpFixedN) {
  // Each request carries one eval row's N inputs as "ids"; sent one at a time, a fixed-N server makes
  // exactly that row. Every label must be eval's.
  serve::Bundle& bundle = tiny_bundle();
  const int64_t n = 4;
  const EvalRows ev = eval_rows(trained_runs("sentiment")[2], 16);
  serve::Server server(bundle, test_options(fixed(n)));
  server.start();
  httplib::Client c = client_for(server);
  int64_t compared = 0, correct_vs_eval = 0;
  for (std::size_t g = 0; g < ev.groups.size(); ++g) {
    if (std::find(ev.real[g].begin(), ev.real[g].end(), false) != ev.real[g].end()) continue;  // eval's padded row
    json inputs = json::array();
    for (const auto& e : ev.groups[g]) inputs.push_back({{"ids", e.ids}});
    const auto r = c.Post("/v1/predict", json{{"inputs", inputs}}.dump(), "application/json");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    const json j = json::parse(r->body);
    ASSERT_EQ(j["results"].size(), static_cast<std::size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
      const json& res = j["results"][static_cast<std::size_t>(i)];
      EXPECT_EQ(res["n"], n);
      const std::string want = bundle.labels().name(ev.labels[g][static_cast<std::size_t>(i)]);
      correct_vs_eval += res["label"] == want;
      ++compared;
    }
  }
  EXPECT_GT(compared, 40);
  EXPECT_EQ(correct_vs_eval, compared);
  server.shutdown();
}

TEST(ServeAgreesWithEval, TextIsTokenizedAsInTraining) {
  // The served tokenizer (checkpoint metadata) encodes a text as the training task did: [CLS] first,
  // then the words' ids, [PAD] after; an unknown word is [UNK].
  serve::Bundle& bundle = tiny_bundle();
  const serve::EncodedInput e = bundle.encode_text("The movie was GREAT zzzunknown");
  ASSERT_EQ(e.ids.size(), 8u);
  EXPECT_EQ(e.ids[0], data::WordTokenizer::kCls);
  EXPECT_EQ(e.ids[1], bundle.tokenizer().id("the"));
  EXPECT_EQ(e.ids[4], bundle.tokenizer().id("great"));
  EXPECT_EQ(e.ids[5], data::WordTokenizer::kUnk);
  EXPECT_EQ(e.ids[6], data::WordTokenizer::kPad);
  // Words past [task] length - 1 are cut, as in training.
  const serve::EncodedInput longer = bundle.encode_text("a a a a a a a a a a a a good");
  EXPECT_EQ(longer.ids.size(), 8u);
  EXPECT_NE(longer.ids[7], data::WordTokenizer::kPad);
}

}  // namespace
}  // namespace datamux::testing
