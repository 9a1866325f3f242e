// The mlm task: masking statistics (15% selected; 80% [MASK] / 10% random / 10% kept), special tokens
// and padding never selected, deterministic masks (training from the seed, held-out fixed per example
// whatever N and batch), the same tokenizer as the fine-tuning task on the same corpus, a short real
// N = 2 training run that beats the most-frequent-word baseline, and the tokenizer with [MASK] saved in
// the checkpoint and read back.
#include <datamux/core/checkpoint.hpp>
#include <datamux/data/tokenizer.hpp>
#include <datamux/tasks/task.hpp>
#include <datamux/train/trainer.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "run_test_util.hpp"

using namespace datamux;
using namespace datamux::runtime;
using data::WordTokenizer;
using datamux::testing::pipeline_fixture;
using datamux::testing::quiet_run;
using datamux::testing::scratch_dir;
using ::testing::HasSubstr;
namespace fs = std::filesystem;

namespace {

// 10 "topics" of 8 words each; a line is its topic's words in order, with "the" put in front of some
// words. A masked word follows from its neighbours; the most frequent word ("the") is the baseline.
fs::path write_corpus(const fs::path& dir, int lines = 2400) {
  Rng rng(77);
  const fs::path file = dir / "corpus.txt";
  std::ofstream out(file);
  for (int i = 0; i < lines; ++i) {
    const int topic = static_cast<int>(rng.randint(0, 10));
    for (int w = 0; w < 8; ++w) {
      if (rng.uniform() < 0.3f) out << "the ";
      out << "t" << topic << "w" << w << ' ';
    }
    out << '\n';
  }
  return file;
}

PipelineConfig config(const fs::path& corpus, std::vector<std::string> extra = {}) {
  extra.push_back("task.train_file=\"" + corpus.string() + "\"");
  return load_pipeline(pipeline_fixture("mlm_small.toml"), extra);
}

struct Counts {
  int64_t selectable = 0, selected = 0, masked = 0, random = 0, kept = 0;
};

Counts count(const Batch& b, Counts c = {}) {
  const std::vector<int32_t> in = b.inputs.to_ints(), tg = b.targets.to_ints();
  for (std::size_t k = 0; k < in.size(); ++k) {
    // A random replacement is never [PAD] or [CLS], so the selectable positions are the others.
    if (in[k] != WordTokenizer::kPad && in[k] != WordTokenizer::kCls) ++c.selectable;
    if (tg[k] == kIgnore) {
      EXPECT_NE(in[k], WordTokenizer::kMask) << "an unselected position was masked";
      continue;
    }
    ++c.selected;
    EXPECT_TRUE(tg[k] != WordTokenizer::kPad && tg[k] != WordTokenizer::kCls && tg[k] != WordTokenizer::kMask)
        << "a special token was selected: " << tg[k];
    if (in[k] == WordTokenizer::kMask) {
      ++c.masked;
    } else if (in[k] == tg[k]) {
      ++c.kept;
    } else {
      ++c.random;
      EXPECT_GE(in[k], WordTokenizer::kNumSpecial) << "random replacements are ordinary words";
    }
  }
  return c;
}

std::vector<int32_t> concat(const std::vector<Batch>& batches, bool targets, int64_t per_example) {
  std::vector<int32_t> out;
  for (const Batch& b : batches) {
    std::vector<int32_t> v = (targets ? b.targets : b.inputs).to_ints();
    v.resize(static_cast<std::size_t>(b.examples * per_example));  // real examples come first
    out.insert(out.end(), v.begin(), v.end());
  }
  return out;
}

}  // namespace

TEST(MlmTask, MasksFifteenPercentWithEightyTenTenReplacement) {
  const fs::path dir = scratch_dir("mlm-stats");
  std::unique_ptr<Task> task = make_task(config(write_corpus(dir)));
  EXPECT_EQ(task->kind(), "mlm");
  EXPECT_EQ(task->default_head(), "mlm");
  EXPECT_TRUE(task->token_level());
  Counts c;
  for (int i = 0; i < 100; ++i) c = count(task->next_train_batch(2, 32), c);  // ~64k word positions
  ASSERT_GT(c.selectable, 50000);
  const double sel = static_cast<double>(c.selected) / static_cast<double>(c.selectable);
  EXPECT_NEAR(sel, 0.15, 0.006);
  EXPECT_NEAR(static_cast<double>(c.masked) / static_cast<double>(c.selected), 0.8, 0.015);
  // A random word equal to the original counts as kept (1 in ~80 here).
  EXPECT_NEAR(static_cast<double>(c.random) / static_cast<double>(c.selected), 0.1, 0.012);
  EXPECT_NEAR(static_cast<double>(c.kept) / static_cast<double>(c.selected), 0.1, 0.012);

  // Held-out masks follow the same law.
  Counts h;
  for (const Batch& b : task->eval_batches(Split::Test, 2, 32)) h = count(b, h);
  EXPECT_NEAR(static_cast<double>(h.selected) / static_cast<double>(h.selectable), 0.15, 0.02);
  fs::remove_all(dir);
}

TEST(MlmTask, LeavesClsAndPaddingAlone) {
  const fs::path dir = scratch_dir("mlm-special");
  std::unique_ptr<Task> task = make_task(config(write_corpus(dir, 400), {"task.mask_probability=1.0"}));
  const Batch b = task->next_train_batch(2, 16);
  const std::vector<int32_t> in = b.inputs.to_ints(), tg = b.targets.to_ints();
  for (std::size_t k = 0; k < in.size(); ++k) {
    if (k % 12 == 0) {
      EXPECT_EQ(in[k], WordTokenizer::kCls);  // position 0 of each text
      EXPECT_EQ(tg[k], kIgnore);
    } else if (in[k] == WordTokenizer::kPad) {
      EXPECT_EQ(tg[k], kIgnore);
    } else {
      EXPECT_NE(tg[k], kIgnore) << "mask_probability = 1 selects every word";
    }
  }
  fs::remove_all(dir);
}

TEST(MlmTask, MasksAreDeterministicAndHeldOutMasksIgnoreTheBatchShape) {
  const fs::path dir = scratch_dir("mlm-determinism");
  const fs::path corpus = write_corpus(dir, 600);
  std::unique_ptr<Task> a = make_task(config(corpus)), b = make_task(config(corpus));
  for (int i = 0; i < 3; ++i) {
    const Batch x = a->next_train_batch(2, 8), y = b->next_train_batch(2, 8);
    EXPECT_EQ(x.inputs.to_ints(), y.inputs.to_ints());
    EXPECT_EQ(x.targets.to_ints(), y.targets.to_ints());
  }
  // The held-out split: the same masks for N = 1 x 5 and N = 2 x 4 rows, and on every call.
  const auto one = a->eval_batches(Split::Test, 1, 5), two = a->eval_batches(Split::Test, 2, 4);
  EXPECT_EQ(concat(one, false, 12), concat(two, false, 12));
  EXPECT_EQ(concat(one, true, 12), concat(two, true, 12));
  EXPECT_EQ(concat(two, true, 12), concat(a->eval_batches(Split::Test, 2, 4), true, 12));
  // Padding slots of the last batch count nothing.
  const Batch& last = two.back();
  const std::vector<int32_t> t = last.targets.to_ints();
  for (std::size_t k = static_cast<std::size_t>(last.examples * 12); k < t.size(); ++k) EXPECT_EQ(t[k], kIgnore);
  // Another seed, other masks.
  std::unique_ptr<Task> other = make_task(config(corpus, {"model.seed=4"}));
  EXPECT_NE(concat(other->eval_batches(Split::Test, 2, 4), true, 12), concat(two, true, 12));
  fs::remove_all(dir);
}

// A resumed run continues the same stream: after restore_train_stream, a fresh task draws the batches
// (examples and masks) the original would have drawn next, across an epoch boundary too.
TEST(MlmTask, TrainStreamRestoresExamplesAndMasks) {
  const fs::path dir = scratch_dir("mlm-stream");
  const fs::path corpus = write_corpus(dir, 200);
  std::unique_ptr<Task> a = make_task(config(corpus)), b = make_task(config(corpus));
  for (int i = 0; i < 5; ++i) a->next_train_batch(2, 8);
  b->restore_train_stream(a->train_stream());
  for (int i = 0; i < 20; ++i) {  // 20 x 16 examples: past the end of the ~150-example training epoch
    const Batch x = a->next_train_batch(2, 8), y = b->next_train_batch(2, 8);
    ASSERT_EQ(x.inputs.to_ints(), y.inputs.to_ints()) << "batch " << i;
    ASSERT_EQ(x.targets.to_ints(), y.targets.to_ints()) << "batch " << i;
  }
  EXPECT_THROW(b->restore_train_stream("3 7 1 2"), InputError);
  fs::remove_all(dir);
}

TEST(MlmTask, BuildsTheFineTuningTasksTokenizerOnTheSameCorpus) {
  const std::string data = DATAMUX_TEST_DATA_DIR;
  auto tokenizer_of = [](const Task& t) {
    for (const auto& [k, v] : t.metadata())
      if (k == "datamux.tokenizer") return WordTokenizer::from_string(v);
    throw std::runtime_error("no tokenizer in the task's metadata");
  };
  const std::vector<std::pair<std::string, std::string>> pairs = {
      {"corpus=\"brown\"", "kind=\"token_tagging\""}, {"corpus=\"spam_assassin\"", "kind=\"text_classification\""}};
  for (const auto& [corpus, kind] : pairs) {
    SCOPED_TRACE(corpus);
    const std::string dir = data + (corpus.find("brown") != std::string::npos ? "/brown/good" : "/spam-assassin/good");
    const std::vector<std::string> common = {"task.data_dir=\"" + dir + "\"", "task.vocab=50", "task.train_examples=3",
                                             "task.test_fraction=0.3"};
    std::vector<std::string> mlm = common, fine = common;
    mlm.push_back("task." + corpus);
    fine.push_back("task." + kind);
    const WordTokenizer a = tokenizer_of(*make_task(load_pipeline(pipeline_fixture("mlm_small.toml"), mlm)));
    const WordTokenizer b = tokenizer_of(*make_task(load_pipeline(pipeline_fixture("mlm_small.toml"), fine)));
    EXPECT_TRUE(a.has_mask());
    ASSERT_EQ(a.vocab_size(), b.vocab_size());
    for (int32_t i = 0; i < a.vocab_size(); ++i) EXPECT_EQ(a.token(i), b.token(i)) << i;
  }
}

TEST(MlmTask, RefusesEmptyAndMissingFiles) {
  const fs::path dir = scratch_dir("mlm-bad");
  std::ofstream(dir / "empty.txt") << "\n  \n";
  EXPECT_THAT([&] { make_task(config(dir / "empty.txt")); }, ::testing::ThrowsMessage<InputError>(HasSubstr("no text")));
  EXPECT_THROW(make_task(config(dir / "missing.txt")), InputError);
  fs::remove_all(dir);
}

// Frequency baseline: always predict the word most often selected in training.
TEST(MlmTask, ShortTrainingAtTwoInstancesBeatsTheFrequencyBaselineAndSavesTheTokenizer) {
  const fs::path dir = scratch_dir("mlm-train");
  const PipelineConfig c = config(write_corpus(dir));
  std::unique_ptr<Task> task = make_task(c);
  std::map<int32_t, int64_t> freq;
  for (int i = 0; i < 50; ++i)
    for (int32_t t : task->next_train_batch(2, 32).targets.to_ints())
      if (t != kIgnore) ++freq[t];
  int32_t top = 0;
  for (const auto& [id, n] : freq)
    if (n > freq[top]) top = id;
  int64_t hits = 0, total = 0;
  for (const Batch& b : task->eval_batches(Split::Test, 2, 32))
    for (int32_t t : b.targets.to_ints())
      if (t != kIgnore) hits += t == top, ++total;
  const double baseline = static_cast<double>(hits) / static_cast<double>(total);
  EXPECT_GT(baseline, 0.1);  // "the" is frequent: a baseline worth beating

  const fs::path out = dir / "run";
  const RunSummary s = run_pipeline(c, quiet_run(out));
  EXPECT_GT(s.final_eval.accuracy.value(), baseline + 0.2) << "baseline " << baseline;
  ASSERT_EQ(s.final_eval.accuracy.instance_total.size(), 2u) << "masked-token accuracy per instance index";
  for (std::size_t i = 0; i < 2; ++i) EXPECT_GT(s.final_eval.accuracy.instance_value(i), baseline) << i;
  EXPECT_EQ(s.final_eval.accuracy.total, total) << "only the masked positions count";

  // The checkpoint carries the tokenizer with [MASK], equal to the task's; eval reproduces the accuracy.
  const SafetensorsFile file = load_safetensors((out / "model.safetensors").string());
  ASSERT_TRUE(file.metadata.count("datamux.tokenizer"));
  const WordTokenizer saved = WordTokenizer::from_string(file.metadata.at("datamux.tokenizer"));
  EXPECT_TRUE(saved.has_mask());
  EXPECT_EQ(saved.to_string(), task->metadata().front().second);
  RunOptions e = quiet_run(out / "eval");
  e.checkpoint = (out / "model.safetensors").string();
  EXPECT_NEAR(eval_pipeline(c, e).final_eval.accuracy.value(), s.final_eval.accuracy.value(), 1e-9);
  fs::remove_all(dir);
}

// The recipe's pipelines chain: each stage's init_from is the previous stage's output, and the stages
// agree on everything a loaded tensor's meaning depends on (N, widths, vocabulary, length, the tokenizer
// keys of the corpus), so init_from loads every shared tensor. Schema only: no data needed.
TEST(MlmTask, RecipePipelinesChainAndAgreeOnShapesAndTokenizer) {
  const std::string dir = std::string(DATAMUX_SOURCE_DIR) + "/examples/pipelines/muxplm/";
  const PipelineConfig s1 = load_pipeline(dir + "stage1_retrieval.toml");
  EXPECT_EQ(s1.task.get_string("kind"), "retrieval");
  for (const std::string corpus : {"brown", "spam"}) {
    SCOPED_TRACE(corpus);
    const PipelineConfig s2 = load_pipeline(dir + "stage2_mlm_" + corpus + ".toml");
    const PipelineConfig s3 =
        load_pipeline(dir + (corpus == "brown" ? "stage3_brown_tagging.toml" : "stage3_spam.toml"));
    EXPECT_EQ(s2.task.get_string("kind"), "mlm");
    EXPECT_EQ(s2.train.get_string("init_from"), s1.output.get_string("dir") + "/model.safetensors");
    EXPECT_EQ(s3.train.get_string("init_from"), s2.output.get_string("dir") + "/model.safetensors");
    for (const char* key : {"instances", "hidden", "seed"}) {
      EXPECT_EQ(s2.model.get_int(key), s1.model.get_int(key)) << key;
      EXPECT_EQ(s3.model.get_int(key), s1.model.get_int(key)) << key;
    }
    for (const PluginSection* s : {&s2.mux, &s2.backbone, &s2.demux, &s3.mux, &s3.backbone, &s3.demux}) {
      const PluginSection& first = s == &s2.mux || s == &s3.mux             ? s1.mux
                                   : s == &s2.backbone || s == &s3.backbone ? s1.backbone
                                                                            : s1.demux;
      EXPECT_EQ(s->plugin, first.plugin);
    }
    EXPECT_EQ(s2.task.get_int("vocab"), s1.task.get_int("vocab"));
    EXPECT_EQ(s2.task.get_int("length"), s1.task.get_int("length"));
    for (const char* key : {"corpus", "data_dir", "train_file"}) EXPECT_EQ(s2.task.get_string(key), s3.task.get_string(key)) << key;
    for (const char* key : {"vocab", "length", "min_count", "train_examples"}) EXPECT_EQ(s2.task.get_int(key), s3.task.get_int(key)) << key;
    for (const char* key : {"test_fraction", "validation_fraction"})
      EXPECT_EQ(s2.task.get_float(key), s3.task.get_float(key)) << key;
    EXPECT_EQ(s2.task.get_bool("lowercase"), s3.task.get_bool("lowercase"));
  }
}

// mlm_train_examples: the masked text may reach past the fine-tuning task's train_examples into the rest
// of the training split (more unlabelled text for pre-training), while the tokenizer stays the one built
// from the first train_examples sentences (the fine-tuning task's) and the held-out splits do not change.
TEST(MlmTask, MlmTrainExamplesWidensTheTextButKeepsTheTokenizerAndTheHeldOutSplits) {
  const fs::path dir = scratch_dir("mlm-brown-pool");
  {
    std::ofstream f(dir / "ca01");
    for (int s = 0; s < 40; ++s) {  // 40 sentences, every word its sentence's own
      f << "\n\n\t";
      for (int w = 0; w < 4; ++w) f << "s" << s << "w" << w << "/nn ";
      f << "./.\n";
    }
    std::ofstream(dir / "cats.txt") << "ca01 news\n";
    fs::copy_file(fs::path(DATAMUX_TEST_DATA_DIR) / "brown/good/package.json", dir / "package.json");
  }
  auto counts = [](const Task& t) {  // "... <train> train / <validation> validation / <test> test"
    const std::string s = t.summary();
    const std::size_t at = s.rfind("; ");
    std::istringstream in(s.substr(at + 2));
    int64_t train = 0, val = 0, test = 0;
    std::string word;
    in >> train >> word >> word >> val >> word >> word >> test;
    return std::array<int64_t, 3>{train, val, test};
  };
  auto tokenizer_of = [](const Task& t) { return WordTokenizer::from_string(t.metadata().front().second); };
  auto make = [&](std::vector<std::string> extra) {
    extra.insert(extra.end(), {"task.data_dir=\"" + dir.string() + "\"", "task.corpus=\"brown\"", "task.vocab=0",
                               "task.train_examples=5", "task.test_fraction=0.25", "task.length=8"});
    return make_task(load_pipeline(pipeline_fixture("mlm_small.toml"), extra));
  };
  const std::unique_ptr<Task> fine = make({"task.kind=\"token_tagging\""});
  const std::unique_ptr<Task> same = make({});
  const std::unique_ptr<Task> all = make({"task.mlm_train_examples=0"});
  const std::unique_ptr<Task> some = make({"task.mlm_train_examples=12"});

  const auto c_same = counts(*same), c_all = counts(*all), c_some = counts(*some);
  EXPECT_EQ(c_same[0], 5) << same->summary();
  EXPECT_EQ(c_some[0], 12) << some->summary();
  EXPECT_GT(c_all[0], 12) << all->summary();
  EXPECT_EQ(c_all[0] + c_all[1] + c_all[2], 40) << "the whole training split, nothing held out: " << all->summary();
  for (const auto& c : {c_all, c_some}) {
    EXPECT_EQ(c[1], c_same[1]) << "validation split unchanged";
    EXPECT_EQ(c[2], c_same[2]) << "test split unchanged";
  }
  // 5 sentences of 5 words each ("." shared) + the specials: the fine-tuning task's vocabulary, in each.
  const WordTokenizer t_fine = tokenizer_of(*fine);
  EXPECT_EQ(t_fine.vocab_size(), t_fine.num_special() + 5 * 4 + 1);
  for (const Task* t : {same.get(), all.get(), some.get()}) {
    const WordTokenizer tok = tokenizer_of(*t);
    ASSERT_EQ(tok.vocab_size(), t_fine.vocab_size());
    for (int32_t i = 0; i < tok.vocab_size(); ++i) EXPECT_EQ(tok.token(i), t_fine.token(i)) << i;
  }
  // The wider pool is really drawn from: a pass over it holds sentences whose words the vocabulary has
  // never seen ([UNK]), which the 5 vocabulary sentences alone never give.
  auto unknown_inputs = [](Task& t, int64_t batches) {
    int64_t unk = 0;
    for (int64_t i = 0; i < batches; ++i)
      for (int32_t id : t.next_train_batch(1, 8).inputs.to_ints()) unk += id == WordTokenizer::kUnk;
    return unk;
  };
  EXPECT_EQ(unknown_inputs(*same, 10), 0);
  EXPECT_GT(unknown_inputs(*all, 10), 0);
  fs::remove_all(dir);
}
