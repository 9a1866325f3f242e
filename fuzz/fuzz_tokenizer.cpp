// libFuzzer target: the word tokenizer (data/src/tokenizer.cpp). Builds a vocabulary from the
// input's lines, encodes and decodes them, and round-trips the JSON form; also parses the input itself
// as a saved tokenizer (what a checkpoint's metadata holds).
#include <datamux/error.hpp>
#include <datamux/data/tokenizer.hpp>

#include <string>
#include <string_view>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using datamux::data::WordTokenizer;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    (void)WordTokenizer::from_string(text);
  } catch (const datamux::InputError&) {
  }
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    lines.emplace_back(text.substr(start, end - start));
    start = end + 1;
  }
  datamux::data::TokenizerOptions o;
  o.lowercase = size > 0 && (data[0] & 1);
  o.max_length = 1 + (size > 1 ? data[1] % 64 : 0);
  o.max_vocab = size > 2 && (data[2] & 1) ? 0 : 4 + (size > 2 ? data[2] % 32 : 0);
  try {
    WordTokenizer tok = WordTokenizer::build(lines, o);
    for (const std::string& line : lines) {
      std::vector<int32_t> ids = tok.encode(line, /*pad=*/true);
      if (static_cast<int64_t>(ids.size()) != o.max_length) __builtin_trap();
      (void)tok.decode(ids);
    }
    WordTokenizer back = WordTokenizer::from_string(tok.to_string());
    if (back.vocab_size() != tok.vocab_size()) __builtin_trap();
  } catch (const datamux::InputError&) {
  }
  return 0;
}
