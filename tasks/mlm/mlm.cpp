// The masked-LM task (MUX-PLMs' pre-training objective) over a text corpus: the Brown corpus's sentences,
// the SpamAssassin e-mail bodies, or any text file (TSV/CSV text column, or one example per line).
//
// Masking follows the reference collator (DataCollatorForLanguageModelingMuxed in princeton-nlp/
// datamux-pretraining, itself HuggingFace's): every word position ([PAD] and [CLS] never) is selected
// with probability mask_probability (0.15); a selected position becomes [MASK] with probability 0.8, else
// a random word with probability 0.5 (0.1 overall), else stays (0.1). Targets are the original ids at the
// selected positions and kIgnore elsewhere, so the loss and the accuracy count only those. One change:
// the random word is drawn from the ordinary words, not the whole vocabulary, since a random [PAD] inside
// a sentence would hide that position from attention here.
// Training masks are drawn afresh for every batch from the task's seed (dynamic masking, as the
// collator does); held-out masks are fixed: example e of a split is masked from its own seed
// (model seed, split, e), so every evaluation, every N and every batch size scores the same positions.
//
// Rows are laid out as the fine-tuning tasks on the same corpus lay theirs out, with the same tokenizer
// (task_text_util.hpp): Brown sentences from position 0 (as token_tagging), texts after a [CLS] (as
// text_classification). A model pre-trained here therefore fine-tunes with matching ids and positions.
#include <datamux/data/read_util.hpp>
#include <datamux/data/split.hpp>
#include <datamux/data/tagging.hpp>
#include <datamux/data/text.hpp>
#include <datamux/data/tokenizer.hpp>
#include <datamux/data/utf8.hpp>
#include <datamux/tasks/task.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <sstream>

#include "task_text_util.hpp"
#include "train_order.hpp"

namespace datamux::runtime {
namespace {

using data::WordTokenizer;

constexpr float kReplaceWithMask = 0.8f;  // of the selected positions
constexpr float kReplaceWithRandom = 0.5f;  // of the rest (0.1 overall); the remaining 0.1 keep their word

bool ends_with(const std::string& s, const char* suffix) {
  const std::size_t n = std::strlen(suffix);
  return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}

// One example per non-empty line (invalid UTF-8 repaired, as the other readers do).
std::vector<std::string> read_lines(const std::string& file) {
  const std::string text = data::detail::read_text_file(file, "give an existing text file as [task] train_file");
  std::vector<std::string> lines;
  data::detail::for_each_line(text, [&](int64_t, std::string_view line) {
    if (line.find_first_not_of(" \t\f\v") != std::string_view::npos) lines.push_back(data::repair_utf8(line));
  });
  if (lines.empty()) throw InputError(fmt::format("{}: no text to mask (every line is empty)", file));
  return lines;
}

std::vector<std::string> read_texts(const PipelineConfig& c, const std::string& file) {
  if (!ends_with(file, ".tsv") && !ends_with(file, ".csv")) return read_lines(file);
  data::DelimitedOptions o;
  o.text_column = c.task.get_string("text_column");
  o.label_column = o.text_column;  // no labels needed; the reader checks the text column is there
  return data::read_delimited(file, o).texts;
}

class MlmTask : public Task {
 public:
  MlmTask(std::vector<int32_t> ids, int64_t length, data::Split split, WordTokenizer tok, const PipelineConfig& c,
          std::string source)
      : ids_(std::move(ids)),
        length_(length),
        split_(std::move(split)),
        tok_(std::move(tok)),
        probability_(static_cast<float>(c.task.get_float("mask_probability"))),
        seed_(static_cast<uint64_t>(c.model.get_int("seed"))),
        order_rng_(seed_ * 7919 + 5),
        mask_rng_(seed_ * 6151 + 17),
        source_(std::move(source)) {
    if (tok_.vocab_size() <= tok_.num_special())
      throw InputError(fmt::format("[task] mlm on {}: the vocabulary has no words to predict", source_));
    if (split_.train.empty()) throw InputError(fmt::format("[task] mlm on {}: the training split is empty", source_));
    order_ = split_.train;
    reshuffle();
  }

  std::string kind() const override { return "mlm"; }
  void describe(BuildContext& ctx) const override {
    ctx.input = InputKind::Sequence;
    ctx.seq_len = length_;
    ctx.vocab = tok_.vocab_size();
    ctx.num_classes = tok_.vocab_size();
  }
  bool token_level() const override { return true; }
  std::string default_head() const override { return "mlm"; }

  Batch next_train_batch(int64_t n, int64_t b) override {
    std::vector<int64_t> slots(static_cast<std::size_t>(n * b));
    for (auto& s : slots) {
      if (cursor_ >= order_.size()) reshuffle();
      s = order_[cursor_++];
    }
    return gather(slots, n, b, [&](int64_t) -> Rng& { return mask_rng_; });
  }

  // "<cursor> <order size> <order...> <order engine> <mask engine>": where in the epoch's shuffle the next
  // batch starts and both streams, so a resumed run draws the same examples with the same masks.
  std::string train_stream() const override {
    std::ostringstream ss;
    detail::write_train_order(ss, cursor_, order_);
    ss << ' ' << order_rng_.engine() << ' ' << mask_rng_.engine();
    return ss.str();
  }
  void restore_train_stream(const std::string& state) override {
    std::istringstream ss(state);
    std::size_t cursor = 0;
    std::vector<int64_t> order;
    detail::read_train_order(ss, split_.train.size(), "mlm", cursor, order);
    Rng order_rng, mask_rng;
    ss >> order_rng.engine() >> mask_rng.engine();
    if (!ss) throw InputError("resume state: the mlm task's training stream is malformed");
    order_ = std::move(order);
    cursor_ = cursor;
    order_rng_ = order_rng;
    mask_rng_ = mask_rng;
  }

  std::vector<Batch> eval_batches(Split split, int64_t n, int64_t b) const override {
    const std::vector<int64_t>& idx = indices(split);
    std::vector<Batch> out;
    for (std::size_t start = 0; start < idx.size(); start += static_cast<std::size_t>(n * b)) {
      std::vector<int64_t> slots(static_cast<std::size_t>(n * b), -1);
      for (std::size_t k = 0; k < slots.size() && start + k < idx.size(); ++k) slots[k] = idx[start + k];
      Rng rng;
      out.push_back(gather(slots, n, b, [&](int64_t e) -> Rng& {
        rng = Rng(held_out_seed(split, e));
        return rng;
      }));
    }
    return out;
  }

  std::vector<std::pair<std::string, std::string>> metadata() const override {
    return {{"datamux.tokenizer", tok_.to_string()}};
  }

  std::string summary() const override {
    return fmt::format("mlm on {}: {} words, {} tokens per instance, {:.0f}% of the words masked; {} train / {} "
                       "validation / {} test",
                       source_, tok_.vocab_size(), length_, 100.0 * probability_, split_.train.size(),
                       split_.validation.size(), split_.test.size());
  }

 private:
  const std::vector<int64_t>& indices(Split s) const {
    if (s == Split::Train) return split_.train;
    if (s == Split::Validation) return split_.validation.empty() ? split_.test : split_.validation;
    return split_.test;
  }

  uint64_t held_out_seed(Split split, int64_t e) const {
    // splitmix64 of (seed, split, example): neighbouring examples get unrelated streams.
    uint64_t z = seed_ * 0x9E3779B97F4A7C15ull + (static_cast<uint64_t>(split) + 1) * 0xBF58476D1CE4E5B9ull +
                 static_cast<uint64_t>(e) * 0x94D049BB133111EBull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }

  // Copies the rows into [N, B, L] slots and masks each with the stream rng_for(example) returns.
  // Slots of -1 (padding the last evaluation batch) repeat example 0 with every target ignored.
  template <class RngFor>
  Batch gather(const std::vector<int64_t>& slots, int64_t n, int64_t b, RngFor&& rng_for) const {
    Batch batch;
    batch.inputs = Tensor::empty({n, b, length_}, DType::i32);
    batch.targets = Tensor::empty({n, b, length_}, DType::i32);
    int32_t* in = batch.inputs.data<int32_t>();
    int32_t* tg = batch.targets.data<int32_t>();
    for (std::size_t k = 0; k < slots.size(); ++k) {
      const int64_t e = slots[k] < 0 ? 0 : slots[k];
      const int32_t* row = ids_.data() + e * length_;
      int32_t* x = in + static_cast<int64_t>(k) * length_;
      int32_t* t = tg + static_cast<int64_t>(k) * length_;
      std::copy(row, row + length_, x);
      std::fill(t, t + length_, kIgnore);
      if (slots[k] < 0) continue;
      mask_row(x, t, rng_for(e));
      ++batch.examples;
    }
    return batch;
  }

  void mask_row(int32_t* x, int32_t* t, Rng& rng) const {
    for (int64_t p = 0; p < length_; ++p) {
      const int32_t id = x[p];
      if (id == WordTokenizer::kPad || id == WordTokenizer::kCls) continue;  // special: never selected
      if (rng.uniform() >= probability_) continue;
      t[p] = id;
      if (rng.uniform() < kReplaceWithMask) {
        x[p] = WordTokenizer::kMask;
      } else if (rng.uniform() < kReplaceWithRandom) {
        x[p] = static_cast<int32_t>(rng.randint(tok_.num_special(), tok_.vocab_size()));
      }
    }
  }

  void reshuffle() {
    std::shuffle(order_.begin(), order_.end(), order_rng_.engine());
    cursor_ = 0;
  }

  std::vector<int32_t> ids_;  // examples x length, unmasked
  int64_t length_;
  data::Split split_;
  WordTokenizer tok_;
  float probability_;
  uint64_t seed_;
  Rng order_rng_, mask_rng_;
  std::string source_;
  std::vector<int64_t> order_;
  std::size_t cursor_ = 0;
};

// How many training examples to mask: mlm_train_examples, or train_examples when it is -1 (0 = all).
int64_t mlm_limit(const PipelineConfig& c) {
  const int64_t own = c.task.get_int("mlm_train_examples");
  return own >= 0 ? own : c.task.get_int("train_examples");
}

void keep_first(std::vector<int64_t>& v, int64_t limit) {
  if (limit > 0 && static_cast<int64_t>(v.size()) > limit) v.resize(static_cast<std::size_t>(limit));
}

// The Brown corpus as token_tagging reads it: the same split and tokenizer (built from the first
// train_examples training sentences, as there). The masked text may reach further into the training
// split (mlm_train_examples): more unlabelled text for pre-training, never a test or validation sentence.
std::unique_ptr<Task> make_brown(const PipelineConfig& c) {
  data::BrownOptions o;
  o.simplify_tags = true;
  data::TaggingDataset all = data::load_brown(c.task.get_string("data_dir"), o);
  data::Split split = detail::make_split(c, all.size(), 0);
  std::vector<int64_t> vocab_rows = split.train;
  keep_first(vocab_rows, c.task.get_int("train_examples"));
  keep_first(split.train, mlm_limit(c));
  const int64_t L = c.task.get_int("length");
  WordTokenizer tok =
      WordTokenizer::build_from_words(detail::pick(all.words, vocab_rows), detail::tokenizer_options(c, L));
  std::vector<int32_t> ids(static_cast<std::size_t>(all.size() * L), kPadId);
  for (int64_t e = 0; e < all.size(); ++e) {
    const std::vector<int32_t> row = tok.encode_words(all.words[static_cast<std::size_t>(e)]);
    std::copy(row.begin(), row.end(), ids.begin() + e * L);
  }
  return std::make_unique<MlmTask>(std::move(ids), L, std::move(split), std::move(tok), c, "the Brown corpus");
}

// SpamAssassin bodies or a text file, as text_classification reads them: [CLS] then L-1 words, the
// tokenizer from the whole training split (the training limit applies after it, as there).
std::unique_ptr<Task> make_texts(const PipelineConfig& c) {
  std::vector<std::string> texts;
  int64_t n_test = 0;
  std::string source;
  const std::string train_file = c.task.get_string("train_file"), test_file = c.task.get_string("test_file");
  if (!train_file.empty()) {
    texts = read_texts(c, train_file);
    source = train_file;
    if (!test_file.empty()) {
      std::vector<std::string> t = read_texts(c, test_file);
      n_test = static_cast<int64_t>(t.size());
      texts.insert(texts.end(), t.begin(), t.end());
    }
  } else {
    texts = data::load_spam_assassin(c.task.get_string("data_dir")).texts;
    source = "SpamAssassin";
  }
  const int64_t n = static_cast<int64_t>(texts.size());
  data::Split split = detail::make_split(c, n - n_test, n_test);
  const int64_t L = c.task.get_int("length");
  if (L < 2) throw InputError("[task] length must be at least 2 for mlm on texts ([CLS] + one word)");
  WordTokenizer tok = WordTokenizer::build(detail::pick(texts, split.train), detail::tokenizer_options(c, L - 1));
  keep_first(split.train, mlm_limit(c));
  std::vector<int32_t> ids(static_cast<std::size_t>(n * L), kPadId);
  for (int64_t e = 0; e < n; ++e) {
    ids[static_cast<std::size_t>(e * L)] = WordTokenizer::kCls;
    const std::vector<int32_t> row = tok.encode(texts[static_cast<std::size_t>(e)]);
    std::copy(row.begin(), row.end(), ids.begin() + e * L + 1);
  }
  return std::make_unique<MlmTask>(std::move(ids), L, std::move(split), std::move(tok), c, source);
}

std::unique_ptr<Task> make_mlm_task(const PipelineConfig& c) {
  if (c.task.get_string("train_file").empty() && c.task.get_string("corpus") == "brown") return make_brown(c);
  return make_texts(c);
}

}  // namespace

DATAMUX_TASK(mlm, {"mlm",
                   "masked-language-model pre-training on a corpus (MUX-PLMs stage 2): Brown, SpamAssassin or a file",
                   &make_mlm_task});

}  // namespace datamux::runtime
