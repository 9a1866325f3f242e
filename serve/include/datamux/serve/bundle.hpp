// datamux/serve/bundle.hpp - the models `datamux serve` answers with: one trained model per N for
// the same task, loaded from run folders (pipeline.toml + model.safetensors) or checkpoints.
//
// Every model of a bundle must agree on the task kind, the sequence length, the tokenizer and the
// labels (a sweep over model.instances gives such a set); otherwise loading throws InputError naming
// both models and what differs. Text classification and token tagging are served: the tokenizer and
// the labels come from the checkpoint's metadata, so the data set need not be present.
#pragma once

#include <datamux/runtime/data/label_set.hpp>
#include <datamux/runtime/data/tokenizer.hpp>
#include <datamux/runtime/model.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace datamux::serve {

/// One served model: a MuxModel in eval mode for one N.
struct ServedModel {
  int64_t instances = 0;  // N
  std::string source;     // the --model argument, for messages
  std::string checkpoint;
  runtime::PipelineConfig config;
  std::unique_ptr<runtime::Task> task;  // describes the model's shapes (from the checkpoint metadata)
  std::unique_ptr<runtime::MuxModel> model;
};

/// One input, encoded as the model reads it: exactly length() ids ([PAD] = 0 after the real ones).
struct EncodedInput {
  std::vector<int32_t> ids;
  int64_t positions = 0;  // token tasks: how many leading positions are real words (one label each)
};

class Bundle {
 public:
  /// Loads every source (a run folder, or a model.safetensors whose pipeline comes from the folder's
  /// pipeline.toml or else from the checkpoint's own metadata). Throws InputError for a missing or
  /// unreadable model, an unsupported task, two models with the same N, or models that disagree.
  static Bundle load(const std::vector<std::string>& sources);

  const std::string& task_kind() const { return kind_; }
  bool token_level() const { return kind_ == "token_tagging"; }
  int64_t length() const { return length_; }
  const data::WordTokenizer& tokenizer() const { return *tokenizer_; }
  const data::LabelSet& labels() const { return labels_; }
  /// The N of every model, ascending.
  std::vector<int64_t> instances() const;
  /// The model for N (std::out_of_range when there is none).
  ServedModel& model(int64_t n);
  const std::vector<std::unique_ptr<ServedModel>>& models() const { return models_; }

  /// Text: classification puts [CLS] first, then the tokenizer's ids; tagging splits on white space.
  EncodedInput encode_text(const std::string& text) const;
  /// Pre-split words (one position each).
  EncodedInput encode_words(const std::vector<std::string>& words) const;
  /// Ids as the model reads them, padded to length(). Throws std::invalid_argument naming the first
  /// id out of [0, vocab) or a list longer than length().
  EncodedInput encode_ids(const std::vector<int64_t>& ids) const;

 private:
  std::string kind_;
  int64_t length_ = 0;
  std::unique_ptr<data::WordTokenizer> tokenizer_;
  data::LabelSet labels_;
  std::vector<std::unique_ptr<ServedModel>> models_;  // ascending N
};

}  // namespace datamux::serve
