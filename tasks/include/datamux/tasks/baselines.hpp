// datamux/tasks/baselines.hpp - the simplest predictors of a data set, reported beside a model's accuracy
// (results.json `baseline_accuracy`) so that a drop is read against something: a model that does not beat
// them has learnt nothing its data did not say outright.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace datamux::runtime {

/// A named accuracy, e.g. {"most frequent tag per word", 0.916}.
struct Baseline {
  std::string name;
  double accuracy = 0.0;
};

/// The most-frequent-tag tagger: every word gets the tag it carried most often in the `train` sentences
/// (ties: the tag seen first), a word never seen in training the most frequent tag overall. Scored over
/// the first `max_words` words of each `test` sentence (the words a model of that length is scored on;
/// 0 = all). Words are compared as given (case kept).
Baseline most_frequent_tag(const std::vector<std::vector<std::string>>& words,
                           const std::vector<std::vector<std::string>>& tags, const std::vector<int64_t>& train,
                           const std::vector<int64_t>& test, int64_t max_words);

/// The majority class: the label most frequent among the `train` examples, scored on the `test` ones.
Baseline majority_class(const std::vector<int32_t>& labels, const std::vector<int64_t>& train,
                        const std::vector<int64_t>& test);

}  // namespace datamux::runtime
