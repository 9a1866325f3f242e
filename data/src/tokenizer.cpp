// WordTokenizer: vocabulary from a training split, encode/decode, JSON round trip.
#include <datamux/data/tokenizer.hpp>

#include <datamux/error.hpp>
#include <datamux/data/utf8.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <stdexcept>

#include "versioned_json.hpp"

namespace datamux::data {

using json = nlohmann::json;

namespace {

constexpr const char* kFormat = "datamux-word-tokenizer";
// Version 1 (before the masked-LM task): [PAD] [UNK] [CLS]. Version 2 adds [MASK] at id 3. Both load;
// a tokenizer saves as the version its vocabulary has, so an old checkpoint keeps its ids.
constexpr int kVersionNoMask = 1;
constexpr int kVersion = 2;
const std::vector<std::string> kSpecial = {"[PAD]", "[UNK]", "[CLS]", "[MASK]"};

bool is_space(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool is_word(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c >= 0x80;
}

void check_options(const TokenizerOptions& o, int32_t num_special = WordTokenizer::kNumSpecial) {
  if (o.min_count < 1) throw InputError("tokenizer: min_count must be >= 1, got " + std::to_string(o.min_count));
  if (o.max_length < 1) throw InputError("tokenizer: max_length must be >= 1, got " + std::to_string(o.max_length));
  // encode(pad = true) allocates max_length ids per text: a saved tokenizer must not be able to ask for
  // terabytes (a sequence of a million tokens is far beyond any model datamux builds).
  if (o.max_length > WordTokenizer::kMaxLength) {
    throw InputError("tokenizer: max_length must be at most " + std::to_string(WordTokenizer::kMaxLength) + ", got " +
                     std::to_string(o.max_length));
  }
  if (o.max_vocab < 0 || (o.max_vocab > 0 && o.max_vocab <= num_special)) {
    throw InputError("tokenizer: max_vocab must be 0 (no cap) or more than the " + std::to_string(num_special) +
                     " special tokens, got " + std::to_string(o.max_vocab));
  }
}

void split_into(std::string_view text, bool lowercase, std::vector<std::string>& out) {
  std::size_t i = 0;
  while (i < text.size()) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (is_space(c)) {
      ++i;
      continue;
    }
    std::size_t start = i;
    if (is_word(c)) {
      while (i < text.size() && is_word(static_cast<unsigned char>(text[i]))) ++i;
    } else {
      ++i;
    }
    std::string token(text.substr(start, i - start));
    // Words go into the checkpoint's JSON, which must be UTF-8: a caller's invalid bytes become U+FFFD
    // here as the readers' do (a run of bytes >= 0x80 is never split, so valid text stays whole).
    repair_utf8_in_place(token);
    if (lowercase) {
      for (char& ch : token) {
        if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
      }
    }
    out.push_back(std::move(token));
  }
}

}  // namespace

WordTokenizer::WordTokenizer(TokenizerOptions options, std::vector<std::string> vocab)
    : options_(options), vocab_(std::move(vocab)) {
  const bool has_mask = vocab_.size() > static_cast<std::size_t>(kMask) && vocab_[kMask] == kSpecial[kMask];
  num_special_ = has_mask ? kNumSpecial : kMask;
  for (std::size_t i = 0; i < vocab_.size(); ++i) {
    if (!ids_.emplace(vocab_[i], static_cast<int32_t>(i)).second) {
      throw InputError("tokenizer: word '" + vocab_[i] + "' appears twice in the vocabulary");
    }
  }
}

std::string WordTokenizer::normalise(std::string_view word) const {
  std::string out = repair_utf8(word);  // as split_into does, so lookups match what was counted
  if (options_.lowercase) {
    for (char& ch : out) {
      if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
    }
  }
  return out;
}

WordTokenizer WordTokenizer::from_counts(const std::unordered_map<std::string, int64_t>& counts,
                                         const TokenizerOptions& options) {
  std::vector<std::pair<std::string, int64_t>> kept;
  for (const auto& [word, count] : counts) {
    const bool special = std::find(kSpecial.begin(), kSpecial.end(), word) != kSpecial.end();
    if (count >= options.min_count && !special) kept.emplace_back(word, count);
  }
  std::sort(kept.begin(), kept.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  std::vector<std::string> vocab = kSpecial;
  for (auto& [word, count] : kept) {
    if (options.max_vocab > 0 && static_cast<int64_t>(vocab.size()) >= options.max_vocab) break;
    vocab.push_back(std::move(word));
  }
  return WordTokenizer(options, std::move(vocab));
}

WordTokenizer WordTokenizer::build(const std::vector<std::string>& texts, const TokenizerOptions& options) {
  check_options(options);
  std::unordered_map<std::string, int64_t> counts;
  std::vector<std::string> tokens;
  for (const std::string& text : texts) {
    tokens.clear();
    split_into(text, options.lowercase, tokens);
    for (std::string& t : tokens) ++counts[std::move(t)];
  }
  return from_counts(counts, options);
}

WordTokenizer WordTokenizer::build_from_words(const std::vector<std::vector<std::string>>& sentences,
                                              const TokenizerOptions& options) {
  check_options(options);
  WordTokenizer lower(options, {});
  std::unordered_map<std::string, int64_t> counts;
  for (const auto& sentence : sentences) {
    for (const std::string& word : sentence) ++counts[lower.normalise(word)];
  }
  return from_counts(counts, options);
}

std::vector<std::string> WordTokenizer::split(std::string_view text) const {
  std::vector<std::string> out;
  split_into(text, options_.lowercase, out);
  return out;
}

int32_t WordTokenizer::mask_id() const {
  if (!has_mask())
    throw InputError("tokenizer: this tokenizer was saved before [MASK] existed (version 1); masked language "
                     "modelling needs a tokenizer built by this version of datamux");
  return kMask;
}

int32_t WordTokenizer::id(std::string_view word) const {
  auto it = ids_.find(normalise(word));
  // A word that spells a special token ("[CLS]" in the data) is a word, not the special token.
  return it == ids_.end() || it->second < num_special_ ? kUnk : it->second;
}

const std::string& WordTokenizer::token(int32_t id) const {
  if (id < 0 || id >= vocab_size()) {
    throw std::out_of_range("token id " + std::to_string(id) + " outside the vocabulary [0, " +
                            std::to_string(vocab_size()) + ")");
  }
  return vocab_[id];
}

std::vector<int32_t> WordTokenizer::encode(std::string_view text, bool pad) const {
  std::vector<std::string> tokens;
  split_into(text, options_.lowercase, tokens);
  return encode_words(tokens, pad);
}

std::vector<int32_t> WordTokenizer::encode_words(const std::vector<std::string>& words, bool pad) const {
  const std::size_t keep = std::min<std::size_t>(words.size(), static_cast<std::size_t>(options_.max_length));
  std::vector<int32_t> ids;
  ids.reserve(pad ? static_cast<std::size_t>(options_.max_length) : keep);
  for (std::size_t i = 0; i < keep; ++i) ids.push_back(id(words[i]));
  if (pad) ids.resize(static_cast<std::size_t>(options_.max_length), kPad);
  return ids;
}

std::string WordTokenizer::decode(const std::vector<int32_t>& ids) const {
  std::string out;
  for (int32_t i : ids) {
    if (i == kPad) continue;
    if (!out.empty()) out += ' ';
    out += token(i);
  }
  return out;
}

std::string WordTokenizer::to_string() const {
  return json{{"format", kFormat},
              {"version", has_mask() ? kVersion : kVersionNoMask},
              {"lowercase", options_.lowercase},
              {"max_length", options_.max_length},
              {"min_count", options_.min_count},
              {"max_vocab", options_.max_vocab},
              {"vocab", vocab_}}
      .dump();
}

WordTokenizer WordTokenizer::from_string(std::string_view text) {
  json j = detail::parse_versioned_json(text, "tokenizer", kFormat, kVersionNoMask, kVersion);
  const bool with_mask = j["version"].get<int>() >= kVersion;
  const int32_t num_special = with_mask ? kNumSpecial : kMask;
  auto integer = [&](const char* key) {
    if (!j.contains(key) || !j[key].is_number_integer()) {
      throw InputError(std::string("tokenizer: \"") + key + "\" must be an integer");
    }
    return j[key].get<int64_t>();
  };
  TokenizerOptions options;
  if (!j.contains("lowercase") || !j["lowercase"].is_boolean()) {
    throw InputError("tokenizer: \"lowercase\" must be true or false");
  }
  options.lowercase = j["lowercase"].get<bool>();
  options.max_length = integer("max_length");
  options.min_count = integer("min_count");
  options.max_vocab = integer("max_vocab");
  check_options(options, num_special);
  if (!j.contains("vocab") || !j["vocab"].is_array()) throw InputError("tokenizer: \"vocab\" must be an array");
  std::vector<std::string> vocab;
  for (const json& w : j["vocab"]) {
    if (!w.is_string()) throw InputError("tokenizer: every entry of \"vocab\" must be a string");
    vocab.push_back(w.get<std::string>());
  }
  if (vocab.size() < static_cast<std::size_t>(num_special) ||
      !std::equal(kSpecial.begin(), kSpecial.begin() + num_special, vocab.begin())) {
    throw InputError(with_mask ? "tokenizer: the vocabulary must start with [PAD], [UNK], [CLS], [MASK] (ids 0 to 3)"
                               : "tokenizer: the vocabulary must start with [PAD], [UNK], [CLS] (ids 0, 1, 2)");
  }
  if (!with_mask && vocab.size() > static_cast<std::size_t>(kMask) && vocab[kMask] == kSpecial[kMask]) {
    // A version-1 vocabulary held "[MASK]" as an ordinary word; it must not turn into the special token.
    throw InputError("tokenizer: a version-1 vocabulary has the word [MASK] at id 3, which version 2 reserves; "
                     "rebuild the tokenizer");
  }
  return WordTokenizer(options, std::move(vocab));
}

}  // namespace datamux::data
