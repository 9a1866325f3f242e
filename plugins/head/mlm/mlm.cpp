// head "mlm": masked language modelling over every instance (MUX-PLMs' pre-training objective).
//
// Targets are token ids [N, B, L] at the masked positions and -100 everywhere else (the mlm task selects
// 15% of the words). The decoder is the retrieval head's (BERT's LM head): transform = Linear(hidden,
// hidden) -> gelu -> layer norm, then Linear(hidden, vocab), with the same parameter names.
// Unlike the retrieval head, no instance is sampled: every instance's masked positions count, as in the
// MUX-PLMs code (loss over all N instances at the masked positions through the demux).
// Training: only the counted positions are decoded (the states are gathered first, as the reference
// decodes `sequence_output[is_mlm_applied]`), so the vocabulary GEMM costs 15% of a full decode; output
// logits [1, M, vocab] and targets [1, M] for the M counted positions. Eval mode decodes every position:
// logits [N, B, L, vocab], targets [N, B, L], so masked-token accuracy is reported per instance index.
// Parameters: transform.dense.weight/bias, transform.norm.weight/bias, decoder.weight/bias.
#include <datamux/head.hpp>
#include <datamux/nn.hpp>
#include <datamux/plugin.hpp>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "../common/check_targets.hpp"
#include "../common/transform.hpp"

namespace {

using namespace datamux;

using plugin_util::Transform;

class MaskedLM : public Head {
 public:
  MaskedLM(const Options& o, const BuildContext& ctx) : instances_(ctx.instances), hidden_(ctx.hidden), vocab_(ctx.vocab) {
    if (vocab_ <= 0)
      throw InputError("head 'mlm' predicts tokens, but the task has no vocabulary (vocab = " + std::to_string(vocab_) +
                       "); use it with the mlm task");
    if (hidden_ <= 0 || instances_ <= 0) throw InputError("head 'mlm': [model] hidden and instances must be positive");
    if (o.get_bool("transform"))
      transform_ = register_module("transform", std::make_shared<Transform>(hidden_, *ctx.rng));
    decoder_ = register_module("decoder", std::make_shared<nn::Linear>(hidden_, vocab_, *ctx.rng));
  }

  HeadOutput forward(const Tensor& states, const Tensor& targets) override {
    if (states.dim() != 4 || states.size(0) != instances_ || states.size(3) != hidden_)
      throw std::invalid_argument("head 'mlm': expected states [N, B, L, hidden] with N = " + std::to_string(instances_) +
                                  ", hidden = " + std::to_string(hidden_) + ", got " + shape_str(states.shape()) +
                                  " (masked language modelling needs a token-level demultiplexer output)");
    const int64_t n = states.size(0), b = states.size(1), l = states.size(2);
    plugin_util::check_targets("mlm", targets, Shape{n, b, l}, "the original token at masked positions, -100 elsewhere");
    if (!is_training()) return classification_output(decode(states), targets);  // [N, B, L, vocab]

    // Row k of the flattened states is instance k / (B*L); an embedding lookup with the counted rows is a
    // differentiable gather.
    const Tensor flat = targets.contiguous();
    const int32_t* tgt = flat.data<int32_t>();
    std::vector<int32_t> rows, picked;
    for (int64_t k = 0; k < n * b * l; ++k) {
      if (tgt[k] == -100) continue;
      rows.push_back(static_cast<int32_t>(k));
      picked.push_back(tgt[k]);
    }
    if (rows.empty()) {  // nothing masked in this batch: one ignored row keeps the graph (loss 0)
      rows.push_back(0);
      picked.push_back(-100);
    }
    const int64_t m = static_cast<int64_t>(rows.size());
    Tensor h = ops::embedding(Tensor::from_ints(rows, {1, m}), states.reshape({n * b * l, hidden_}));
    return classification_output(decode(h), Tensor::from_ints(picked, {1, m}));  // [1, M, vocab]
  }

 private:
  Tensor decode(const Tensor& h) const { return decoder_->forward(transform_ ? transform_->forward(h) : h); }

  int64_t instances_, hidden_, vocab_;
  std::shared_ptr<Transform> transform_;
  std::shared_ptr<nn::Linear> decoder_;
};

}  // namespace

DATAMUX_PLUGIN({.name = "mlm",
                .version = "1.0.0",
                .description = "Masked language modelling: predicts the original token at every instance's masked "
                               "positions with a BERT-style LM decoder (the mlm task's head)",
                .options =
                    {
                        datamux::opt_bool("transform", true, "Linear + gelu + layer norm before the vocabulary decoder"),
                    },
                .create = datamux::factory<MaskedLM>})
