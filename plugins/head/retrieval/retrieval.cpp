// head "retrieval": reconstruct each instance's input tokens from its demultiplexed states (the paper's
// retrieval warm-up and auxiliary loss).
//
// Decoder as BERT's LM head: transform (Linear(hidden, hidden) -> gelu -> layer norm), then
// Linear(hidden, vocab). Targets are the original tokens [N, B, L] (-100 = padding, not counted).
// Training, by default: at each (b, t) one instance j_t is drawn uniformly from 0..N-1 (the head's own
// random stream, seeded from the context seed) and only demux_{j_t}(h)_t is decoded: the states are
// gathered first, so decoding costs one instance's worth, and the output is logits [B, L, vocab],
// targets [B, L]. With all_instances, and always in eval mode, every instance is decoded: logits
// [N, B, L, vocab], targets [N, B, L], so accuracy can be reported per instance index.
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

class Retrieval : public Head {
 public:
  Retrieval(const Options& o, const BuildContext& ctx)
      : instances_(ctx.instances),
        hidden_(ctx.hidden),
        vocab_(ctx.vocab),
        all_instances_(o.get_bool("all_instances")) {
    // A sub-module, so a resumed run restores where the sampling stream was.
    sampler_ = register_module("sampler", std::make_shared<nn::RandomStream>(ctx.seed));
    if (vocab_ <= 0)
      throw InputError("head 'retrieval' decodes tokens, but the task has no vocabulary (vocab = " +
                       std::to_string(vocab_) + "); use it with a token task");
    if (hidden_ <= 0 || instances_ <= 0)
      throw InputError("head 'retrieval': [model] hidden and instances must be positive");
    if (o.get_bool("transform"))
      transform_ = register_module("transform", std::make_shared<Transform>(hidden_, *ctx.rng));
    decoder_ = register_module("decoder", std::make_shared<nn::Linear>(hidden_, vocab_, *ctx.rng));
  }

  HeadOutput forward(const Tensor& states, const Tensor& targets) override {
    if (states.dim() != 4 || states.size(0) != instances_ || states.size(3) != hidden_)
      throw std::invalid_argument("head 'retrieval': expected states [N, B, L, hidden] with N = " +
                                  std::to_string(instances_) + ", hidden = " + std::to_string(hidden_) + ", got " +
                                  shape_str(states.shape()) + " (retrieval needs a token-level demultiplexer output)");
    const int64_t n = states.size(0), b = states.size(1), l = states.size(2);
    const Shape tokens{n, b, l};
    plugin_util::check_targets("retrieval", targets, tokens, "each instance's input tokens, -100 = ignore");
    if (is_training() && !all_instances_) {
      // Row (j, b, t) of the flattened states is j*B*L + b*L + t; an embedding lookup with these ids is a
      // differentiable gather.
      const Tensor flat_targets = targets.contiguous();
      const int32_t* tgt = flat_targets.data<int32_t>();
      std::vector<int32_t> rows(static_cast<std::size_t>(b * l)), picked(rows.size());
      for (int64_t p = 0; p < b * l; ++p) {
        const int64_t j = sampler_->rng().randint(0, n);
        rows[static_cast<std::size_t>(p)] = static_cast<int32_t>(j * b * l + p);
        picked[static_cast<std::size_t>(p)] = tgt[j * b * l + p];
      }
      Tensor h = ops::embedding(Tensor::from_ints(rows, {b, l}), states.reshape({n * b * l, hidden_}));
      return classification_output(decode(h), Tensor::from_ints(picked, {b, l}));  // [B, L, vocab]
    }
    return classification_output(decode(states), targets);  // [N, B, L, vocab]
  }

 private:
  Tensor decode(const Tensor& h) const { return decoder_->forward(transform_ ? transform_->forward(h) : h); }

  int64_t instances_, hidden_, vocab_;
  bool all_instances_;
  std::shared_ptr<nn::RandomStream> sampler_;
  std::shared_ptr<Transform> transform_;
  std::shared_ptr<nn::Linear> decoder_;
};

}  // namespace

DATAMUX_PLUGIN(
    {.name = "retrieval",
     .version = "1.0.0",
     .description =
         "Reconstructs each instance's tokens with a BERT-style LM decoder (one sampled instance per position)",
     .options =
         {
             datamux::opt_bool("all_instances", false,
                               "in training, score every instance at every position instead of one drawn "
                               "uniformly per position (denser signal, N times the decoding cost)"),
             datamux::opt_bool("transform", true, "Linear + gelu + layer norm before the vocabulary decoder"),
         },
     .create = datamux::factory<Retrieval>})
