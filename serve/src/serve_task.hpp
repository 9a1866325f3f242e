// Private to the serve layer: a Task that only describes a model's shapes. A served model is built from
// its checkpoint's tokenizer and labels, not from the data set it was trained on, so this task has no
// batches to give.
#pragma once

#include <datamux/data/image_input.hpp>
#include <datamux/data/label_set.hpp>
#include <datamux/data/tokenizer.hpp>
#include <datamux/tasks/task.hpp>

#include <stdexcept>

namespace datamux::serve::detail {

class ServeTask : public runtime::Task {
 public:
  ServeTask(std::string kind, int64_t length, int64_t vocab, int64_t classes)
      : kind_(std::move(kind)), length_(length), vocab_(vocab), classes_(classes) {}
  std::string kind() const override { return kind_; }
  void describe(BuildContext& ctx) const override {
    ctx.input = InputKind::Sequence;
    ctx.seq_len = length_;
    ctx.vocab = vocab_;
    ctx.num_classes = classes_;
  }
  bool token_level() const override { return kind_ == "token_tagging"; }
  runtime::Batch next_train_batch(int64_t, int64_t) override { throw std::logic_error("a served task has no training data"); }
  std::vector<runtime::Batch> eval_batches(runtime::Split, int64_t, int64_t) const override {
    throw std::logic_error("a served task has no evaluation data");
  }
  std::string summary() const override { return kind_ + " (served)"; }

 private:
  std::string kind_;
  int64_t length_, vocab_, classes_;
};

/// An image classifier's shapes, from the checkpoint's image description (as the image task describes them).
class ServeImageTask : public runtime::Task {
 public:
  explicit ServeImageTask(data::ImageInput input) : input_(std::move(input)) {}
  std::string kind() const override { return "image_classification"; }
  void describe(BuildContext& ctx) const override { input_.describe(ctx); }
  bool token_level() const override { return false; }
  runtime::Batch next_train_batch(int64_t, int64_t) override { throw std::logic_error("a served task has no training data"); }
  std::vector<runtime::Batch> eval_batches(runtime::Split, int64_t, int64_t) const override {
    throw std::logic_error("a served task has no evaluation data");
  }
  std::string summary() const override { return "image_classification (served)"; }

 private:
  data::ImageInput input_;
};

}  // namespace datamux::serve::detail
