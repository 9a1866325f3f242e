// Tasks over stored data sets: image classification (IDX, Fashion-MNIST), text classification
// (SpamAssassin or a TSV/CSV file) and token tagging (Brown corpus or a CoNLL file).
//
// Every example is kept as a fixed-size row (token ids padded to L, or pixels) with its targets, so a
// batch is a gather of rows into [N, B, ...] slots.
#include <datamux/runtime/data/idx.hpp>
#include <datamux/runtime/data/image_input.hpp>
#include <datamux/runtime/data/label_set.hpp>
#include <datamux/runtime/data/split.hpp>
#include <datamux/runtime/data/tagging.hpp>
#include <datamux/runtime/data/text.hpp>
#include <datamux/runtime/data/tokenizer.hpp>
#include <datamux/runtime/task.hpp>

#include "task_text_util.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <sstream>

#include "train_order.hpp"

namespace datamux::runtime {
namespace {

// Arranges example indices into [N, B] slots: row-major over B then N, so consecutive examples land
// in different multiplexed rows. Indices of -1 are padding.
std::vector<int64_t> arrange_slots(const std::vector<int64_t>& order, int64_t start, int64_t n, int64_t b) {
  std::vector<int64_t> slots(static_cast<std::size_t>(n * b), -1);
  for (int64_t k = 0; k < n * b; ++k) {
    const int64_t pos = start + k;
    if (pos < static_cast<int64_t>(order.size())) slots[static_cast<std::size_t>(k)] = order[static_cast<std::size_t>(pos)];
  }
  return slots;
}

struct Rows {
  int64_t width = 0;           // ids or pixels per example
  int64_t target_width = 1;    // 1 (one label) or L (one tag per token)
  std::vector<int32_t> ids;    // text: examples x width
  std::vector<float> pixels;   // images: examples x width
  std::vector<int32_t> targets;  // examples x target_width
};

class DatasetTask : public Task {
 public:
  DatasetTask(std::string kind, Rows rows, data::Split split, uint64_t seed, int64_t train_limit)
      : kind_(std::move(kind)), rows_(std::move(rows)), split_(std::move(split)), rng_(seed * 7919 + 5) {
    if (train_limit > 0 && static_cast<int64_t>(split_.train.size()) > train_limit) split_.train.resize(train_limit);
    if (split_.train.empty()) throw InputError(fmt::format("[task] {}: the training split is empty", kind_));
    order_ = split_.train;
    reshuffle();
  }

  std::string kind() const override { return kind_; }
  bool token_level() const override { return rows_.target_width > 1; }

  Batch next_train_batch(int64_t n, int64_t b) override {
    std::vector<int64_t> slots(static_cast<std::size_t>(n * b));
    for (auto& s : slots) {
      if (cursor_ >= order_.size()) reshuffle();
      s = order_[cursor_++];
    }
    return gather(slots, n, b);
  }

  // "<cursor> <order size> <order...> <engine state>": the epoch's shuffle and where in it the next batch starts.
  std::string train_stream() const override {
    std::ostringstream ss;
    detail::write_train_order(ss, cursor_, order_);
    ss << ' ' << rng_.engine();
    return ss.str();
  }
  void restore_train_stream(const std::string& state) override {
    std::istringstream ss(state);
    std::size_t cursor = 0;
    std::vector<int64_t> order;
    detail::read_train_order(ss, split_.train.size(), kind_, cursor, order);
    Rng rng;
    ss >> rng.engine();
    if (!ss) throw InputError(fmt::format("resume state: the {} task's training stream is malformed", kind_));
    order_ = std::move(order);
    cursor_ = cursor;
    rng_ = rng;
  }

  std::vector<Batch> eval_batches(Split split, int64_t n, int64_t b) const override {
    const std::vector<int64_t>& idx = indices(split);
    std::vector<Batch> out;
    for (int64_t start = 0; start < static_cast<int64_t>(idx.size()); start += n * b)
      out.push_back(gather(arrange_slots(idx, start, n, b), n, b));
    return out;
  }

 protected:
  const std::vector<int64_t>& indices(Split s) const {
    if (s == Split::Train) return split_.train;
    if (s == Split::Validation) return split_.validation.empty() ? split_.test : split_.validation;
    return split_.test;
  }

  std::string sizes() const {
    return fmt::format("{} train / {} validation / {} test", split_.train.size(), split_.validation.size(),
                       split_.test.size());
  }

  std::string kind_;
  Rows rows_;
  data::Split split_;

 private:
  void reshuffle() {
    std::shuffle(order_.begin(), order_.end(), rng_.engine());
    cursor_ = 0;
  }

  // Slots of -1 (padding the last evaluation batch) repeat example 0 with every target ignored.
  Batch gather(const std::vector<int64_t>& slots, int64_t n, int64_t b) const {
    Batch batch;
    const int64_t w = rows_.width, tw = rows_.target_width;
    const bool text = !rows_.ids.empty();
    Shape in_shape = text ? Shape{n, b, w} : Shape{n, b, w};
    batch.inputs = Tensor::empty(in_shape, text ? DType::i32 : DType::f32);
    batch.targets = Tensor::empty(tw > 1 ? Shape{n, b, tw} : Shape{n, b}, DType::i32);
    int32_t* tg = batch.targets.data<int32_t>();
    for (std::size_t k = 0; k < slots.size(); ++k) {
      const int64_t e = slots[k] < 0 ? 0 : slots[k];
      if (text) {
        std::memcpy(batch.inputs.data<int32_t>() + k * w, rows_.ids.data() + e * w, static_cast<std::size_t>(w) * 4);
      } else {
        std::memcpy(batch.inputs.data<float>() + k * w, rows_.pixels.data() + e * w, static_cast<std::size_t>(w) * 4);
      }
      for (int64_t t = 0; t < tw; ++t) tg[k * tw + t] = slots[k] < 0 ? kIgnore : rows_.targets[e * tw + t];
      batch.examples += slots[k] >= 0;
    }
    return batch;
  }

  Rng rng_;
  std::vector<int64_t> order_;
  std::size_t cursor_ = 0;
};

// ---------------------------------------------------------------- images

class ImageTask : public DatasetTask {
 public:
  ImageTask(Rows rows, data::Split split, uint64_t seed, int64_t limit, data::ImageInput input)
      : DatasetTask("image_classification", std::move(rows), std::move(split), seed, limit), input_(std::move(input)) {}
  void describe(BuildContext& ctx) const override { input_.describe(ctx); }
  // The shape and the standardisation, so that `datamux serve` reads raw pixels as training did.
  std::vector<std::pair<std::string, std::string>> metadata() const override {
    return {{"datamux.image", input_.to_string()}};
  }
  std::string summary() const override {
    return fmt::format("image classification {}x{}: {}", input_.rows, input_.cols, sizes());
  }

 private:
  data::ImageInput input_;
};

std::unique_ptr<Task> make_image_task(const PipelineConfig& c) {
  const std::string dir = c.task.get_string("data_dir");
  data::ImageSet train = data::load_fashion_mnist("train", dir);
  data::ImageSet test = data::load_fashion_mnist("test", dir);
  data::check_same_image_size(train, test);  // rows are gathered with the training row size
  const uint64_t seed = static_cast<uint64_t>(c.model.get_int("seed"));
  Rows rows;
  rows.width = train.rows * train.cols;
  rows.pixels = train.pixels;
  rows.pixels.insert(rows.pixels.end(), test.pixels.begin(), test.pixels.end());
  rows.targets = train.labels;
  rows.targets.insert(rows.targets.end(), test.labels.begin(), test.labels.end());
  // Standardise with the training pixels' statistics (as torchvision's Normalize would).
  double sum = 0, sq = 0;
  const std::size_t ntrain = train.pixels.size();
  for (std::size_t i = 0; i < ntrain; ++i) sum += rows.pixels[i], sq += rows.pixels[i] * rows.pixels[i];
  data::ImageInput input;
  input.rows = train.rows;
  input.cols = train.cols;
  input.channels = 1;
  input.labels = data::fashion_mnist_labels();
  input.mean = static_cast<float>(sum / static_cast<double>(ntrain));
  input.stddev = static_cast<float>(std::sqrt(std::max(sq / static_cast<double>(ntrain) - input.mean * input.mean, 1e-12)));
  for (float& p : rows.pixels) p = input.standardise(p);

  data::Split s = data::split_indices(train.size(), c.task.get_float("validation_fraction"), 0.0, seed);
  s.test.clear();
  for (int64_t i = 0; i < test.size(); ++i) s.test.push_back(train.size() + i);
  return std::make_unique<ImageTask>(std::move(rows), std::move(s), seed, c.task.get_int("train_examples"), std::move(input));
}

// ---------------------------------------------------------------- text

class TextTask : public DatasetTask {
 public:
  TextTask(std::string kind, Rows rows, data::Split split, uint64_t seed, int64_t limit, data::WordTokenizer tok,
           data::LabelSet labels, std::string source)
      : DatasetTask(std::move(kind), std::move(rows), std::move(split), seed, limit),
        tok_(std::move(tok)),
        labels_(std::move(labels)),
        source_(std::move(source)) {}
  void describe(BuildContext& ctx) const override {
    ctx.input = InputKind::Sequence;
    ctx.seq_len = rows_.width;
    ctx.vocab = tok_.vocab_size();
    ctx.num_classes = labels_.size();
  }
  std::vector<std::pair<std::string, std::string>> metadata() const override {
    return {{"datamux.tokenizer", tok_.to_string()}, {"datamux.labels", labels_.to_string()}};
  }
  std::string summary() const override {
    return fmt::format("{} on {}: {} words, {} classes, {} tokens per instance; {}", kind_, source_, tok_.vocab_size(),
                       labels_.size(), rows_.width, sizes());
  }

 private:
  data::WordTokenizer tok_;
  data::LabelSet labels_;
  std::string source_;
};

using detail::make_split;
using detail::pick;
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
  return std::make_unique<TextTask>("text_classification", std::move(rows), std::move(split),
                                    static_cast<uint64_t>(c.model.get_int("seed")), c.task.get_int("train_examples"),
                                    std::move(tok), std::move(labels), source);
}

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
  return std::make_unique<TextTask>("token_tagging", std::move(rows), std::move(split),
                                    static_cast<uint64_t>(c.model.get_int("seed")), 0, std::move(tok), std::move(tags),
                                    source);
}

}  // namespace

std::unique_ptr<Task> make_dataset_task(const PipelineConfig& c) {
  const std::string& kind = c.task.get_string("kind");
  if (kind == "image_classification") return make_image_task(c);
  if (kind == "text_classification") return make_text_task(c);
  return make_tagging_task(c);
}

}  // namespace datamux::runtime
