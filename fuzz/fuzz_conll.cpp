// libFuzzer target: the CoNLL reader (data/src/conll.cpp). The first byte picks the options.
#include <datamux/error.hpp>
#include <datamux/data/tagging.hpp>

#include "fuzz_input_file.hpp"
#include "utf8_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t flags = data[0];
  const std::string& path = datamux::fuzz::write_input(data + 1, size - 1, ".conll");
  datamux::data::ConllOptions o;
  o.delimiter = (flags & 1) ? '\t' : '\0';
  o.comment_prefix = (flags & 2) ? "#" : "";
  o.skip_docstart = flags & 4;
  o.word_column = (flags >> 3) & 3;         // 0..3
  o.tag_column = -1 - ((flags >> 5) & 3);   // -1..-4
  try {
    datamux::data::TaggingDataset d = datamux::data::read_conll(path, o);
    if (d.words.size() != d.tags.size()) __builtin_trap();
    for (std::size_t s = 0; s < d.words.size(); ++s) {
      if (d.words[s].size() != d.tags[s].size() || d.words[s].empty()) __builtin_trap();
      for (const auto& w : d.words[s]) datamux::fuzz::require_utf8(w);
      for (const auto& t : d.tags[s]) datamux::fuzz::require_utf8(t);
    }
  } catch (const datamux::InputError&) {
  }
  return 0;
}
