// CoNLL-style column files (one token a line, blank line between sentences) -> TaggingDataset.
#include <datamux/data/tagging.hpp>

#include <datamux/data/read_util.hpp>
#include <datamux/data/utf8.hpp>

#include <algorithm>
#include <set>

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
  std::size_t bom = 0;
  const std::string text = detail::read_text_file(file, detail::kUserFileHint, &bom);
  const std::size_t needed = static_cast<std::size_t>(
      std::max(options.word_column < 0 ? -options.word_column : options.word_column + 1,
               options.tag_column < 0 ? -options.tag_column : options.tag_column + 1));
  TaggingDataset out;
  std::vector<std::string> words, tags;
  int64_t first_line = 0;
  auto finish_sentence = [&] {
    if (words.empty()) return;
    out.words.push_back(std::move(words));
    out.tags.push_back(std::move(tags));
    out.lines.push_back(first_line);
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
    const uint64_t tag_offset = bom + static_cast<uint64_t>(columns[t].data() - text.data());
    detail::require_utf8(file, number, tag_offset, columns[t], "the tag (" + describe_column(options.tag_column) + ")");
    if (words.empty()) first_line = number;
    words.push_back(repair_utf8(columns[w]));
    tags.emplace_back(columns[t]);
  });
  finish_sentence();
  if (out.words.empty()) detail::fail(file, "no sentences: expected lines of word and tag columns");
  return out;
}

void require_known_tags(const TaggingDataset& test, const fs::path& test_file,
                        const std::vector<std::vector<std::string>>& train_tags) {
  std::set<std::string> known;
  for (const auto& sentence : train_tags) known.insert(sentence.begin(), sentence.end());
  for (std::size_t s = 0; s < test.tags.size(); ++s) {
    for (std::size_t k = 0; k < test.tags[s].size(); ++k) {
      if (known.count(test.tags[s][k])) continue;
      const std::string names = detail::join_names(known);
      const int64_t line = s < test.lines.size() ? test.lines[s] : static_cast<int64_t>(s) + 1;
      fail_at(test_file, line,
              "tag '" + test.tags[s][k] + "' (token " + std::to_string(k + 1) + " of the sentence starting here, word '" +
                  test.words[s][k] + "') is not one of the " + std::to_string(known.size()) +
                  " tags of the training file (" + names +
                  "); a tag must appear in training to be learned: fix it or add training sentences with it");
    }
  }
}

}  // namespace datamux::data
