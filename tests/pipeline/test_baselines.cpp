// The data sets' simplest predictors (tasks/baselines.hpp), on hand-made cases.
#include <datamux/tasks/baselines.hpp>
#include <gtest/gtest.h>

namespace datamux {
namespace {

using runtime::majority_class;
using runtime::most_frequent_tag;

TEST(Baselines, MostFrequentTagPerWordWithTheOverallTagForUnseenWords) {
  // Training: "the" is DET twice, "run" is VERB twice and NOUN once; NOUN is the most frequent tag overall.
  const std::vector<std::vector<std::string>> words = {
      {"the", "run", "dog"}, {"the", "run", "cat"}, {"run", "fox", "ox"},  // train
      {"the", "run", "zebra"},                                            // test: DET VERB NOUN
      {"run", "the"},                                                     // test: NOUN VERB (both wrong)
  };
  const std::vector<std::vector<std::string>> tags = {
      {"DET", "VERB", "NOUN"}, {"DET", "VERB", "NOUN"}, {"NOUN", "NOUN", "NOUN"},
      {"DET", "VERB", "NOUN"},
      {"NOUN", "VERB"},
  };
  const auto b = most_frequent_tag(words, tags, {0, 1, 2}, {3, 4}, 0);
  // the->DET ok, run->VERB ok, zebra (unseen)->NOUN ok; run->VERB (NOUN: wrong), the->DET (VERB: wrong).
  EXPECT_DOUBLE_EQ(b.accuracy, 3.0 / 5.0);
  // Only the first two words of each test sentence: 2 of 4.
  EXPECT_DOUBLE_EQ(most_frequent_tag(words, tags, {0, 1, 2}, {3, 4}, 2).accuracy, 2.0 / 4.0);
}

TEST(Baselines, MostFrequentTagKeepsCaseAndBreaksTiesByFirstSeen) {
  const std::vector<std::vector<std::string>> words = {{"Can", "can"}, {"can"}, {"Can", "can"}};
  const std::vector<std::vector<std::string>> tags = {{"NP", "MD"}, {"NN"}, {"NP", "MD"}};
  // "can": MD once, NN once: the first seen (MD) wins; "Can" is its own word (NP).
  EXPECT_DOUBLE_EQ(most_frequent_tag(words, tags, {0, 1}, {2}, 0).accuracy, 1.0);
}

TEST(Baselines, MajorityClassIsTheTrainingSplitsMostFrequentLabel) {
  const std::vector<int32_t> labels = {1, 1, 0, 1, 0, 0, 0};
  // Training (0..3): label 1 three times. Test (4..6): all 0, so the majority class scores 0.
  EXPECT_DOUBLE_EQ(majority_class(labels, {0, 1, 2, 3}, {4, 5, 6}).accuracy, 0.0);
  EXPECT_DOUBLE_EQ(majority_class(labels, {4, 5, 6}, {0, 2, 4}).accuracy, 2.0 / 3.0);
}

}  // namespace
}  // namespace datamux
