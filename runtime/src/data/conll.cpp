// CoNLL-style column files (one token a line, blank line between sentences) -> TaggingDataset.
#include <datamux/runtime/data/tagging.hpp>

#include <datamux/runtime/data/read_util.hpp>

#include <algorithm>

namespace datamux::data {

namespace fs = std::filesystem;
using detail::fail_at;

namespace {

std::vector<std::string_view> split_columns(std::string_view line, char delimiter) {
  std::vector<std::string_view> out;
  if (delimiter != '\0') {
    std::size_t start = 0;
    while (true) {
      std::size_t end = line.find(delimiter, start);
      out.push_back(line.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
      if (end == std::string_view::npos) break;
      start = end + 1;
    }
    return out;
  }
  return detail::split_whitespace(line);
}

bool blank(std::string_view line) { return line.find_first_not_of(" \t") == std::string_view::npos; }

// Resolves a possibly negative column against `count` columns; -1 when out of range.
int resolve(int column, std::size_t count) {
  const int n = static_cast<int>(count);
  const int c = column < 0 ? n + column : column;
  return c >= 0 && c < n ? c : -1;
}

std::string describe_column(int column) {
  if (column == -1) return "the last column";
  return "column " + std::to_string(column) + (column < 0 ? " (from the end)" : "");
}

}  // namespace

TaggingDataset read_conll(const fs::path& file, const ConllOptions& options) {
  const std::string text = detail::read_text_file(file, detail::kUserFileHint);
  const std::size_t needed = static_cast<std::size_t>(
      std::max(options.word_column < 0 ? -options.word_column : options.word_column + 1,
               options.tag_column < 0 ? -options.tag_column : options.tag_column + 1));
  TaggingDataset out;
  std::vector<std::string> words, tags;
  auto finish_sentence = [&] {
    if (words.empty()) return;
    out.words.push_back(std::move(words));
    out.tags.push_back(std::move(tags));
    words.clear();
    tags.clear();
  };
  detail::for_each_line(text, [&](int64_t number, std::string_view line) {
    if (blank(line)) {
      finish_sentence();
      return;
    }
    if (!options.comment_prefix.empty() && line.substr(0, options.comment_prefix.size()) == options.comment_prefix) {
      return;
    }
    const std::vector<std::string_view> columns = split_columns(line, options.delimiter);
    if (options.skip_docstart && !columns.empty() && columns[0] == "-DOCSTART-") {
      finish_sentence();
      return;
    }
    const int w = resolve(options.word_column, columns.size());
    const int t = resolve(options.tag_column, columns.size());
    if (columns.size() < needed || w < 0 || t < 0 || w == t) {
      fail_at(file, number,
              "has " + std::to_string(columns.size()) + " column(s); the word is " +
                  describe_column(options.word_column) + " and the tag " + describe_column(options.tag_column) +
                  " (counted from 0), so at least " + std::to_string(std::max<std::size_t>(needed, 2)) +
                  " are needed");
    }
    if (columns[w].empty()) fail_at(file, number, "empty word in " + describe_column(options.word_column));
    if (columns[t].empty()) fail_at(file, number, "empty tag in " + describe_column(options.tag_column));
    words.emplace_back(columns[w]);
    tags.emplace_back(columns[t]);
  });
  finish_sentence();
  if (out.words.empty()) detail::fail(file, "no sentences: expected lines of word and tag columns");
  return out;
}

}  // namespace datamux::data
