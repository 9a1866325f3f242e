// datamux/serve/bundle.hpp - the models `datamux serve` answers with: one trained model per N for
// the same task, loaded from run folders (pipeline.toml + model.safetensors) or checkpoints.
//
// Every model of a bundle must agree on the task kind and on what it reads: for text, the sequence
// length, the tokenizer and the labels; for images, the shape (rows, cols, channels), the pixel
// standardisation and the labels (a sweep over model.instances gives such a set); otherwise loading
// throws InputError naming both models and what differs. Text classification, token tagging and image
// classification are served: the tokenizer, labels and image description come from the checkpoint's
// metadata, so the data set need not be present (an image checkpoint written before the description
// was saved has it recomputed from its pipeline's data set).
#pragma once

#include <datamux/core/precision.hpp>
#include <datamux/data/image_input.hpp>
#include <datamux/data/label_set.hpp>
#include <datamux/data/tokenizer.hpp>
#include <datamux/train/model.hpp>

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
  /// [model] dtype: matmul inputs in bf16 or f32. Set before each of this model's passes (the precision
  /// is process-wide), so models of different dtypes can share the dispatcher thread.
  MatmulPrecision precision = MatmulPrecision::f32;
  /// What the passes run in: "bf16" only when requested and this CPU has fast bf16 matmuls, else "f32".
  std::string dtype() const;
  /// bf16 requested on a CPU without AVX512-BF16 or AMX-BF16: served in f32.
  bool bf16_unavailable() const;
};

/// One input, encoded as the model reads it: text, exactly length() ids ([PAD] = 0 after the real ones);
/// an image, exactly image_input().values() standardised pixels.
struct EncodedInput {
  std::vector<int32_t> ids;
  std::vector<float> pixels;
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
  bool image() const { return kind_ == "image_classification"; }
  /// Text: tokens per input ([task] length). Images: values per image.
  int64_t length() const { return length_; }
  /// Images only: shape, standardisation and class names.
  const data::ImageInput& image_input() const { return image_; }
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
  /// An image as pixel values 0..255 (0 = background, 255 = ink, as the IDX file stores them), row-major,
  /// image_input().values() of them; scaled by 1/255 and standardised exactly as training read its
  /// images. Throws std::invalid_argument naming the first value outside 0..255 ("[k] = v ...").
  EncodedInput encode_image(const std::vector<float>& raw) const;
  /// An input of the bundle's kind that costs a full pass (all [UNK] words, or a blank image): what
  /// the service times are measured on.
  EncodedInput typical_input() const;

 private:
  std::string kind_;
  int64_t length_ = 0;
  std::unique_ptr<data::WordTokenizer> tokenizer_;  // text tasks
  data::ImageInput image_;                          // image tasks
  data::LabelSet labels_;
  std::vector<std::unique_ptr<ServedModel>> models_;  // ascending N
};

}  // namespace datamux::serve
