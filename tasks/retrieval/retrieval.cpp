// The retrieval warm-up task: random token sequences; the model must return each instance's tokens.
#include <datamux/tasks/task.hpp>

#include <fmt/format.h>

#include <sstream>

namespace datamux::runtime {
namespace {

constexpr int32_t kFirstToken = 3;  // ids 0..2 are [PAD] [UNK] [CLS], as the tokenizer numbers them

class RetrievalTask : public Task {
 public:
  explicit RetrievalTask(const PipelineConfig& c)
      : vocab_(c.task.get_int("vocab")),
        length_(c.task.get_int("length")),
        eval_examples_(c.task.get_int("eval_examples")),
        seed_(static_cast<uint64_t>(c.model.get_int("seed"))),
        train_rng_(seed_ * 7919 + 11) {
    if (vocab_ <= kFirstToken)
      throw InputError(fmt::format("[task] vocab = {}: retrieval needs more than {} tokens", vocab_, kFirstToken));
  }

  std::string kind() const override { return "retrieval"; }
  void describe(BuildContext& ctx) const override {
    ctx.input = InputKind::Sequence;
    ctx.seq_len = length_;
    ctx.vocab = vocab_;
    ctx.num_classes = vocab_;
  }
  bool has_labels() const override { return false; }
  bool token_level() const override { return true; }

  Batch next_train_batch(int64_t n, int64_t b) override { return generate(n, b, n * b, train_rng_); }

  std::vector<Batch> eval_batches(Split split, int64_t n, int64_t b) const override {
    // Held-out sequences come from their own seeds, so they are the same for every run and step.
    Rng rng(seed_ * 104729 + (split == Split::Test ? 1 : 2));
    std::vector<Batch> out;
    for (int64_t done = 0; done < eval_examples_; done += n * b)
      out.push_back(generate(n, b, std::min(n * b, eval_examples_ - done), rng));
    return out;
  }

  std::string train_stream() const override {
    std::ostringstream ss;
    ss << train_rng_.engine();
    return ss.str();
  }
  void restore_train_stream(const std::string& state) override {
    std::istringstream ss(state);
    ss >> train_rng_.engine();
    if (!ss) throw InputError("resume state: the retrieval task's random stream is malformed");
  }

  std::string summary() const override {
    return fmt::format("retrieval: random sequences of {} tokens over a vocabulary of {}", length_, vocab_);
  }

 private:
  Batch generate(int64_t n, int64_t b, int64_t real, Rng& rng) const {
    Batch batch;
    batch.inputs = Tensor::empty({n, b, length_}, DType::i32);
    batch.targets = Tensor::empty({n, b, length_}, DType::i32);
    int32_t* ids = batch.inputs.data<int32_t>();
    int32_t* tg = batch.targets.data<int32_t>();
    // Slot (i, row) of [N, B] is instance i of multiplexed row `row`. A partial batch (the last held-out
    // one) fills whole rows first, so every instance index gets the same number of real sequences (+-1):
    // filling instance-major left the last indices with none, and their accuracy read 0.
    for (int64_t slot = 0; slot < n * b; ++slot) {
      const int64_t instance = slot / b, row = slot % b;
      const bool counted = row * n + instance < real;
      for (int64_t t = 0; t < length_; ++t) {
        const int32_t id = static_cast<int32_t>(rng.randint(kFirstToken, vocab_));
        ids[slot * length_ + t] = id;
        tg[slot * length_ + t] = counted ? id : kIgnore;
      }
    }
    batch.examples = real;
    return batch;
  }

  int64_t vocab_, length_, eval_examples_;
  uint64_t seed_;
  Rng train_rng_;
};

std::unique_ptr<Task> make_retrieval_task(const PipelineConfig& c) { return std::make_unique<RetrievalTask>(c); }

}  // namespace

DATAMUX_TASK(retrieval, {"retrieval",
                         "the warm-up: reconstruct every instance's generated token sequence (vocab, length)",
                         &make_retrieval_task});

}  // namespace datamux::runtime
