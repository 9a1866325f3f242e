// head "token_classification": one label per token per instance (tagging, NER).
//
// states [N, B, L, hidden] -> dropout -> Linear(hidden, classes) -> logits [N, B, L, classes]. Loss:
// cross-entropy over the N*B*L tokens; targets -100 (padding, sub-word continuations) do not count.
// Parameters: classifier.weight, classifier.bias.
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

class TokenClassification : public Head {
 public:
  TokenClassification(const Options& o, const BuildContext& ctx)
      : instances_(ctx.instances), hidden_(ctx.hidden), classes_(ctx.num_classes) {
    if (classes_ < 2)
      throw InputError("head 'token_classification' needs a task with at least 2 classes, got num_classes = " +
                       std::to_string(classes_));
    if (hidden_ <= 0 || instances_ <= 0)
      throw InputError("head 'token_classification': [model] hidden and instances must be positive");
    dropout_ =
        register_module("dropout", std::make_shared<nn::Dropout>(static_cast<float>(o.get_float("dropout")), ctx.seed));
    classifier_ = register_module("classifier", std::make_shared<nn::Linear>(hidden_, classes_, *ctx.rng));
  }

  HeadOutput forward(const Tensor& states, const Tensor& targets) override {
    if (states.dim() != 4 || states.size(0) != instances_ || states.size(3) != hidden_)
      throw std::invalid_argument("head 'token_classification': expected states [N, B, L, hidden] with N = " +
                                  std::to_string(instances_) + ", hidden = " + std::to_string(hidden_) + ", got " +
                                  shape_str(states.shape()) + " (a vector backbone has no tokens to tag)");
    const Shape tokens{states.size(0), states.size(1), states.size(2)};
    plugin_util::check_targets("token_classification", targets, tokens, "one label per token, -100 = ignore");
    Tensor logits = classifier_->forward(dropout_->forward(states));  // [N, B, L, classes]
    return classification_output(logits, targets);
  }

 private:
  int64_t instances_, hidden_, classes_;
  std::shared_ptr<nn::Dropout> dropout_;
  std::shared_ptr<nn::Linear> classifier_;
};

}  // namespace

DATAMUX_PLUGIN({.name = "token_classification",
                .version = "1.0.0",
                .description = "One label per token per instance: Linear(hidden, classes) on every demultiplexed state",
                .options =
                    {
                        datamux::opt_float("dropout", 0.0, "dropout before the classifier (training only)", 0.0, 0.99),
                    },
                .create = datamux::factory<TokenClassification>})
