// datamux/data/tokenizer.hpp - a word-level tokenizer whose vocabulary comes from a training split.
//
// Splitting: optional ASCII lower-casing, then a token is a maximal run of word bytes (ASCII letters,
// digits, '_', and every byte >= 0x80 so that UTF-8 letters stay whole); every other non-space
// character is a token of its own ("don't!" -> don ' t !). Pre-split words (tagging data) skip the
// split and are only lower-cased.
// Vocabulary: [PAD]=0, [UNK]=1, [CLS]=2, [MASK]=3 (for masked language modelling), then the words seen at least min_count times, most frequent
// first (ties in byte order), at most max_vocab ids in all when max_vocab > 0. Same data, same ids.
// It saves to a JSON string for a checkpoint's metadata, and loads back to the same ids. Tokenizers saved
// before [MASK] existed (format version 1: three special tokens, words from id 3) still load, with their
// own ids, and report has_mask() == false.
//
//   WordTokenizer tok = WordTokenizer::build(train.texts, {.min_count = 2, .max_length = 64});
//   std::vector<int32_t> ids = tok.encode("A great movie!");   // at most 64 ids
//   std::string saved = tok.to_string();
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace datamux::data {

struct TokenizerOptions {
  int64_t min_count = 1;   // a word seen fewer times in training is [UNK]
  int64_t max_vocab = 0;   // cap on the vocabulary including the special tokens; 0: no cap
  bool lowercase = true;   // ASCII lower-casing before counting and encoding
  int64_t max_length = 128;  // encode() keeps at most this many ids (the first ones)
};

class WordTokenizer {
 public:
  static constexpr int32_t kPad = 0;
  static constexpr int32_t kUnk = 1;
  static constexpr int32_t kCls = 2;
  static constexpr int32_t kMask = 3;
  static constexpr int32_t kNumSpecial = 4;  // of a tokenizer built now; see num_special()
  static constexpr int64_t kMaxLength = int64_t(1) << 20;  // bound on max_length (ids per text)

  /// Throws InputError for min_count < 1, max_length outside [1, kMaxLength], or 0 < max_vocab <= 4.
  static WordTokenizer build(const std::vector<std::string>& texts, const TokenizerOptions& options = {});
  static WordTokenizer build_from_words(const std::vector<std::vector<std::string>>& sentences,
                                        const TokenizerOptions& options = {});

  /// Splits as described above (with this tokenizer's lower-casing).
  std::vector<std::string> split(std::string_view text) const;
  /// Ids of the first max_length tokens; with pad, [PAD] fills up to exactly max_length.
  std::vector<int32_t> encode(std::string_view text, bool pad = false) const;
  /// Same for pre-split words (one id per word, so tags stay aligned).
  std::vector<int32_t> encode_words(const std::vector<std::string>& words, bool pad = false) const;
  /// Tokens joined by single spaces; [PAD] is skipped, other special tokens print as their names.
  /// Throws std::out_of_range for an id outside the vocabulary.
  std::string decode(const std::vector<int32_t>& ids) const;

  int32_t id(std::string_view word) const;  // [UNK] for an unknown word (after lower-casing) or one
                                            // spelling a special token
  const std::string& token(int32_t id) const;
  int64_t vocab_size() const { return static_cast<int64_t>(vocab_.size()); }
  /// Special ids come first: 4 ([PAD] [UNK] [CLS] [MASK]), or 3 for a version-1 tokenizer.
  int32_t num_special() const { return num_special_; }
  bool has_mask() const { return num_special_ > kMask; }
  /// kMask; throws InputError for a version-1 tokenizer, which has no [MASK].
  int32_t mask_id() const;
  const TokenizerOptions& options() const { return options_; }

  /// JSON {"format": "datamux-word-tokenizer", "version": 2 (1 without [MASK]), "lowercase", "max_length", "min_count",
  /// "max_vocab", "vocab": [...]}.
  std::string to_string() const;
  /// Throws InputError on malformed input (bad JSON, wrong format or version, special tokens not at
  /// ids 0..3, or 0..2 for version 1, duplicate words).
  static WordTokenizer from_string(std::string_view text);

 private:
  WordTokenizer(TokenizerOptions options, std::vector<std::string> vocab);
  static WordTokenizer from_counts(const std::unordered_map<std::string, int64_t>& counts,
                                   const TokenizerOptions& options);
  std::string normalise(std::string_view word) const;

  TokenizerOptions options_;
  std::vector<std::string> vocab_;
  std::unordered_map<std::string, int32_t> ids_;
  int32_t num_special_ = kNumSpecial;
};

}  // namespace datamux::data
