// End-to-end runs of the data-set tasks on small generated files (and Fashion-MNIST when installed).
#include <datamux/data/locate.hpp>
#include <datamux/train/trainer.hpp>
#include <gmock/gmock.h>

#include "run_test_util.hpp"
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

using namespace datamux;
using namespace datamux::runtime;
using ::testing::HasSubstr;
using datamux::testing::quiet_run;
using datamux::testing::scratch_dir;
using datamux::testing::pipeline_fixture;
namespace fs = std::filesystem;

namespace {

// A TSV whose label is whether the sentence mentions a "good" word: learnable from the words alone.
void write_sentiment_tsv(const fs::path& file, int rows, uint64_t seed) {
  const std::vector<std::string> good = {"great", "fine", "lovely", "superb"}, bad = {"awful", "poor", "dull", "bleak"},
                                  filler = {"the", "movie", "was", "a", "plot", "actor", "scene", "very", "and", "it"};
  Rng rng(seed);
  std::ofstream f(file);
  f << "text\tlabel\n";
  for (int r = 0; r < rows; ++r) {
    const bool positive = rng.randint(0, 2) == 1;
    std::string s;
    const int64_t len = rng.randint(3, 9), at = rng.randint(0, len);
    for (int64_t k = 0; k < len; ++k) {
      if (k) s += ' ';
      s += k == at ? (positive ? good : bad)[static_cast<std::size_t>(rng.randint(0, 4))]
                   : filler[static_cast<std::size_t>(rng.randint(0, 10))];
    }
    f << s << '\t' << (positive ? "pos" : "neg") << '\n';
  }
}

// CoNLL sentences where each word's tag is a fixed function of the word.
void write_tagging_conll(const fs::path& file, int sentences, uint64_t seed) {
  const std::vector<std::pair<std::string, std::string>> lexicon = {
      {"dog", "NOUN"}, {"cat", "NOUN"}, {"runs", "VERB"}, {"sees", "VERB"}, {"the", "DET"}, {"a", "DET"}, {"big", "ADJ"}, {"red", "ADJ"}};
  Rng rng(seed);
  std::ofstream f(file);
  for (int s = 0; s < sentences; ++s) {
    const int64_t len = rng.randint(2, 8);
    for (int64_t k = 0; k < len; ++k) {
      const auto& [w, t] = lexicon[static_cast<std::size_t>(rng.randint(0, 8))];
      f << w << '\t' << t << '\n';
    }
    f << '\n';
  }
}

std::vector<std::string> text_sets(const std::string& kind, const fs::path& train, int64_t length) {
  return {"task.kind=\"" + kind + "\"", "task.train_file=\"" + train.string() + "\"",
          "task.length=" + std::to_string(length), "task.vocab=0", "task.eval_examples=1"};
}

}  // namespace

TEST(RunTasks, TextClassificationFromTsvLearnsTheRule) {
  fs::path dir = scratch_dir("text");
  write_sentiment_tsv(dir / "train.tsv", 800, 1);
  auto sets = text_sets("text_classification", dir / "train.tsv", 12);
  sets.insert(sets.end(), {"train.steps=150", "train.retrieval_loss_coeff=0.1", "train.task_loss_coeff=0.9",
                           // a whole new [head] table: the fixture's retrieval options do not apply
                           "head={plugin=\"sequence_classification\"}", "retrieval_head.all_instances=true"});
  PipelineConfig c = load_pipeline(pipeline_fixture("retrieval_small.toml"), sets);
  RunSummary s = run_pipeline(c, quiet_run(dir / "out"));
  EXPECT_GT(s.final_eval.accuracy.value(), 0.9);
  EXPECT_EQ(s.final_eval.accuracy.instance_total.size(), 2u);
  EXPECT_EQ(s.final_eval.examples, 160);  // test_fraction 0.2 of 800, every example counted once
  fs::remove_all(dir);
}

TEST(RunTasks, TokenTaggingFromConllLearnsTheLexicon) {
  fs::path dir = scratch_dir("tagging");
  write_tagging_conll(dir / "train.conll", 600, 2);
  auto sets = text_sets("token_tagging", dir / "train.conll", 8);
  sets.insert(sets.end(), {"train.steps=150", "head={plugin=\"token_classification\"}", "train.task_loss_coeff=1.0",
                           "train.retrieval_loss_coeff=0.0"});
  PipelineConfig c = load_pipeline(pipeline_fixture("retrieval_small.toml"), sets);
  RunSummary s = run_pipeline(c, quiet_run(dir / "out"));
  EXPECT_GT(s.final_eval.accuracy.value(), 0.95);
  fs::remove_all(dir);
}

TEST(RunTasks, MissingTrainFileNamesIt) {
  auto sets = text_sets("text_classification", "/nonexistent/train.tsv", 12);
  PipelineConfig c = load_pipeline(pipeline_fixture("retrieval_small.toml"), sets);
  fs::path dir = scratch_dir("missing");
  try {
    run_pipeline(c, quiet_run(dir));
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr("/nonexistent/train.tsv"));
  }
  fs::remove_all(dir);
}

TEST(RunTasks, CnnBackboneOnTextIsRefusedNamingBoth) {
  fs::path dir = scratch_dir("misfit");
  write_sentiment_tsv(dir / "train.tsv", 50, 1);
  PipelineConfig c = load_pipeline(pipeline_fixture("text_cnn_misfit.toml"),
                                   {"task.train_file=\"" + (dir / "train.tsv").string() + "\""});
  try {
    run_pipeline(c, quiet_run(dir / "out"));
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr("cnn"));
    EXPECT_THAT(e.what(), HasSubstr("sequence"));
  }
  fs::remove_all(dir);
}

TEST(RunTasks, FashionMlpMultiplexedLearns) {
  if (!fs::exists(data::fashion_mnist_dir() / "train-images-idx3-ubyte.gz"))
    GTEST_SKIP() << "Fashion-MNIST not installed (scripts/setup.sh installs dataset-fashion-mnist)";
  PipelineConfig c = load_pipeline(std::string(DATAMUX_SOURCE_DIR) + "/examples/pipelines/fashion_mlp.toml",
                                   {"model.instances=2", "train.steps=400", "train.batch=32", "backbone.width=128",
                                    "model.hidden=128"});
  fs::path dir = scratch_dir("fashion");
  RunSummary s = run_pipeline(c, quiet_run(dir));
  EXPECT_GT(s.final_eval.accuracy.value(), 0.7);
  EXPECT_EQ(s.final_eval.examples, 10000);
  fs::remove_all(dir);
}

// [head] and [retrieval_head]: the task names its default head, and each section's options go to the
// head it configures, checked against that head's schema at the line that wrote them.
namespace {
std::string refusal(const PipelineConfig& c, const fs::path& dir) {
  try {
    run_pipeline(c, quiet_run(dir));
  } catch (const InputError& e) {
    return e.what();
  }
  return "(accepted)";
}
}  // namespace

TEST(HeadSections, AuxiliaryRetrievalHeadTakesItsOwnSectionAndRefusesMisuse) {
  fs::path dir = scratch_dir("head-sections");
  write_sentiment_tsv(dir / "train.tsv", 60, 1);
  auto text = text_sets("text_classification", dir / "train.tsv", 12);
  text.insert(text.end(), {"head={}", "train.steps=1"});

  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> sets = text;
    sets.insert(sets.end(), extra.begin(), extra.end());
    return load_pipeline(pipeline_fixture("retrieval_small.toml"), sets);
  };
  // The retrieval head's option under [retrieval_head], with the auxiliary loss on: accepted, and used.
  EXPECT_EQ(refusal(with({"train.retrieval_loss_coeff=0.1", "retrieval_head.all_instances=true"}), dir / "a"), "(accepted)");
  // The same section with the auxiliary loss off configures nothing: refused.
  EXPECT_THAT(refusal(with({"train.retrieval_loss_coeff=0.0", "retrieval_head.all_instances=true"}), dir / "b"),
              HasSubstr("retrieval_loss_coeff"));
  // An option the retrieval head does not have, named with its section.
  EXPECT_THAT(refusal(with({"train.retrieval_loss_coeff=0.1", "retrieval_head.pooling=\"mean\""}), dir / "c"),
              HasSubstr("[retrieval_head] pooling"));
  // [head] without a plugin is the task's default head (sequence_classification has `pooling`).
  EXPECT_EQ(refusal(with({"head.pooling=\"mean\""}), dir / "d"), "(accepted)");
  fs::remove_all(dir);
}

TEST(HeadSections, RetrievalTaskKeepsItsHeadAndItsOptionsUnderHead) {
  fs::path dir = scratch_dir("head-retrieval");
  auto load = [](std::vector<std::string> sets) {
    sets.push_back("train.steps=1");
    return load_pipeline(pipeline_fixture("retrieval_small.toml"), sets);
  };
  EXPECT_THAT(refusal(load({"head.plugin=\"sequence_classification\""}), dir / "a"),
              HasSubstr("uses the retrieval head, not 'sequence_classification'"));
  EXPECT_THAT(refusal(load({"retrieval_head.all_instances=true"}), dir / "b"), HasSubstr("remove [retrieval_head]"));
  EXPECT_THAT(refusal(load({"head.all_instances=maybe"}), dir / "c"), HasSubstr("all_instances"));
  fs::remove_all(dir);
}

TEST(HeadSections, TheOldTrainKeySaysWhereItMoved) {
  try {
    load_pipeline(pipeline_fixture("retrieval_small.toml"), {"train.retrieval_all_instances=true"});
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr("has moved"));
    EXPECT_THAT(e.what(), HasSubstr("all_instances = true` under [head]"));
  }
}
