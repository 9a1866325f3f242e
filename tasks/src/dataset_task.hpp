// dataset_task.hpp - what the tasks over stored data sets share: every example kept as a fixed-size row
// (token ids padded to L, or pixels) with its targets, so that a batch is a gather of rows into [N, B, ...]
// slots; a seeded shuffle per epoch; evaluation splits in order. Used by image_classification,
// text_classification and token_tagging (tasks/<kind>/).
#pragma once

#include <datamux/data/label_set.hpp>
#include <datamux/data/split.hpp>
#include <datamux/data/tokenizer.hpp>
#include <datamux/tasks/task.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <sstream>

#include "train_order.hpp"

namespace datamux::runtime::detail {

// Arranges example indices into [N, B] slots: row-major over B then N, so consecutive examples land
// in different multiplexed rows. Indices of -1 are padding.
inline std::vector<int64_t> arrange_slots(const std::vector<int64_t>& order, int64_t start, int64_t n, int64_t b) {
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
  std::optional<Baseline> baseline() const override { return baseline_; }
  void set_baseline(Baseline b) { baseline_ = std::move(b); }
  /// The training examples the task uses (after train_examples), for a baseline built from them.
  const data::Split& split() const { return split_; }
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
  std::optional<Baseline> baseline_;
  std::vector<int64_t> order_;
  std::size_t cursor_ = 0;
};

// A text task: token-id rows, a tokenizer and a label set that a checkpoint stores (metadata) so that
// `datamux eval` and `datamux serve` encode text as training did.
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

}  // namespace datamux::runtime::detail
