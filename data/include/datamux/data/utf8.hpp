// datamux/data/utf8.hpp - UTF-8 checking and repair for what the data readers return.
//
// Everything a reader returns ends up in JSON (the tokenizer and label set saved in a checkpoint, the
// results), and JSON strings must be valid UTF-8. Readers therefore decode as they read:
//   - running text (TSV/CSV texts, CoNLL and Brown words) is repaired: each invalid sequence becomes
//     U+FFFD, as Python's errors="replace" does (one U+FFFD per maximal invalid subpart);
//   - names that identify something (labels, tags) are rejected with the file, line and byte offset,
//     since two different broken labels must not silently become the same one.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace datamux::data {

/// The byte index of the first byte that does not start a valid UTF-8 sequence (overlong forms,
/// surrogates and code points above U+10FFFF are invalid), or std::string_view::npos when `s` is valid.
std::size_t first_invalid_utf8(std::string_view s);

/// `s` with every invalid sequence replaced by U+FFFD ("\xEF\xBF\xBD"); valid input is returned as is.
std::string repair_utf8(std::string_view s);
/// Same, in place; returns how many replacements were made.
std::size_t repair_utf8_in_place(std::string& s);

}  // namespace datamux::data
