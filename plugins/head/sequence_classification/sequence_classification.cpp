// head "sequence_classification": one label per instance from its demultiplexed states.
//
// states [N, B, L, hidden] are pooled over L (position 0, the CLS slot, or the mean of all L positions;
// the head sees no padding mask, so `mean` averages padding too) to [N, B, hidden]; vector backbones'
// states [N, B, hidden] are used as they are. Then an optional hidden layer Linear + tanh (the BERT
// pooler; with per_instance_hidden one Linear per instance index, the paper's image heads), dropout,
// and a classifier Linear(hidden, classes) shared by all instances. Loss: cross-entropy over the N*B
// rows (targets -100 do not count). Output: logits [N, B, classes], targets [N, B].
// Parameters: dense.weight [hidden, hidden] (per instance: [N, hidden, hidden]), dense.bias ([N, hidden]),
// classifier.weight, classifier.bias.
#include <cmath>
#include <datamux/head.hpp>
#include <datamux/nn.hpp>
#include <datamux/plugin.hpp>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "../common/check_targets.hpp"

namespace {

using namespace datamux;

class SequenceClassification : public Head {
 public:
  SequenceClassification(const Options& o, const BuildContext& ctx)
      : instances_(ctx.instances),
        hidden_(ctx.hidden),
        classes_(ctx.num_classes),
        mean_pool_(o.get_string("pooling") == "mean"),
        per_instance_(o.get_bool("per_instance_hidden")) {
    if (classes_ < 2)
      throw InputError("head 'sequence_classification' needs a task with at least 2 classes, got num_classes = " +
                       std::to_string(classes_));
    if (hidden_ <= 0 || instances_ <= 0)
      throw InputError("head 'sequence_classification': [model] hidden and instances must be positive");
    const bool hidden_layer = o.get_bool("hidden_layer");
    if (per_instance_ && !hidden_layer)
      throw InputError("head 'sequence_classification': per_instance_hidden = true needs hidden_layer = true");
    if (per_instance_) {
      // One torch.nn.Linear-initialised layer per instance, stored stacked for one batched matmul.
      const float bound = 1.f / std::sqrt(static_cast<float>(hidden_));
      dense_weight_ =
          register_parameter("dense.weight", Tensor::uniform({instances_, hidden_, hidden_}, *ctx.rng, -bound, bound));
      dense_bias_ = register_parameter("dense.bias", Tensor::uniform({instances_, hidden_}, *ctx.rng, -bound, bound));
    } else if (hidden_layer) {
      dense_ = register_module("dense", std::make_shared<nn::Linear>(hidden_, hidden_, *ctx.rng));
    }
    dropout_ =
        register_module("dropout", std::make_shared<nn::Dropout>(static_cast<float>(o.get_float("dropout")), ctx.seed));
    classifier_ = register_module("classifier", std::make_shared<nn::Linear>(hidden_, classes_, *ctx.rng));
  }

  bool reads_first_position_only() const override { return !mean_pool_; }  // [CLS] pooling

  HeadOutput forward(const Tensor& states, const Tensor& targets) override {
    const bool token_level = states.dim() == 4;
    if ((states.dim() != 3 && !token_level) || states.size(0) != instances_ || states.size(-1) != hidden_ ||
        (token_level && states.size(2) == 0))
      throw std::invalid_argument(
          "head 'sequence_classification': expected states [N, B, L, hidden] or [N, B, hidden] "
          "with N = " +
          std::to_string(instances_) + ", hidden = " + std::to_string(hidden_) + ", got " + shape_str(states.shape()));
    const Shape rows{states.size(0), states.size(1)};
    plugin_util::check_targets("sequence_classification", targets, rows, "one label per instance");
    Tensor h = states;
    if (token_level) h = mean_pool_ ? ops::mean(states, {2}) : states.select(2, 0);  // [N, B, hidden]
    if (per_instance_) {
      h = ops::tanh(ops::matmul(h, dense_weight_, false, true) + dense_bias_.unsqueeze(1));
    } else if (dense_) {
      h = ops::tanh(dense_->forward(h));
    }
    Tensor logits = classifier_->forward(dropout_->forward(h));  // [N, B, classes]
    return classification_output(logits, targets);
  }

 private:
  int64_t instances_, hidden_, classes_;
  bool mean_pool_, per_instance_;
  Tensor dense_weight_, dense_bias_;
  std::shared_ptr<nn::Linear> dense_;
  std::shared_ptr<nn::Dropout> dropout_;
  std::shared_ptr<nn::Linear> classifier_;
};

}  // namespace

DATAMUX_PLUGIN(
    {.name = "sequence_classification",
     .version = "1.0.0",
     .description = "One label per instance: pool the sequence, Linear + tanh (optionally per instance), classifier",
     .options =
         {
             datamux::opt_string("pooling", "cls", "cls = the state at position 0; mean = average over positions",
                                 {"cls", "mean"}),
             datamux::opt_bool("hidden_layer", true, "Linear(hidden, hidden) + tanh before the classifier"),
             datamux::opt_bool("per_instance_hidden", false,
                               "a separate hidden layer per instance index (the paper's image heads); needs "
                               "hidden_layer"),
             datamux::opt_float("dropout", 0.0, "dropout before the classifier (training only)", 0.0, 0.99),
         },
     .create = datamux::factory<SequenceClassification>})
