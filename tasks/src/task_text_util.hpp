// Private to the text tasks (text_classification, token_tagging, mlm): the tokenizer options and the split a
// [task] section asks for. One definition, so that the mlm task on a corpus builds exactly the vocabulary
// the classification or tagging task on that corpus builds (same ids: a pre-trained embedding fits).
#pragma once

#include <datamux/data/split.hpp>
#include <datamux/data/tokenizer.hpp>
#include <datamux/pipeline/pipeline_config.hpp>

#include <string>
#include <vector>

namespace datamux::runtime::detail {

inline data::TokenizerOptions tokenizer_options(const PipelineConfig& c, int64_t max_length) {
  data::TokenizerOptions o;
  o.min_count = c.task.get_int("min_count");
  o.max_vocab = c.task.get_int("vocab");
  o.lowercase = c.task.get_bool("lowercase");
  o.max_length = max_length;
  return o;
}

// Splits one data set, or keeps a given test file apart (appended after the training rows).
inline data::Split make_split(const PipelineConfig& c, int64_t n_train, int64_t n_test) {
  const uint64_t seed = static_cast<uint64_t>(c.model.get_int("seed"));
  const double val = c.task.get_float("validation_fraction");
  if (n_test > 0) {
    data::Split s = data::split_indices(n_train, val, 0.0, seed);
    s.test.clear();
    for (int64_t i = 0; i < n_test; ++i) s.test.push_back(n_train + i);
    return s;
  }
  return data::split_indices(n_train, val, c.task.get_float("test_fraction"), seed);
}

template <class T>
std::vector<T> pick(const std::vector<T>& v, const std::vector<int64_t>& idx) {
  std::vector<T> out;
  out.reserve(idx.size());
  for (int64_t i : idx) out.push_back(v[static_cast<std::size_t>(i)]);
  return out;
}

}  // namespace datamux::runtime::detail
