// GLUE-style delimited files (TSV/CSV with a header row) -> TextDataset.
#include <datamux/data/text.hpp>

#include <datamux/data/read_util.hpp>
#include <datamux/data/utf8.hpp>

#include <charconv>
#include <set>
#include <stdexcept>

namespace datamux::data {

namespace fs = std::filesystem;
using detail::fail_at;

namespace {

struct Record {
  int64_t line = 0;  // where the record starts
  std::vector<std::string> fields;
  std::vector<std::size_t> offsets;  // where each field's text starts in the (BOM-less) text
};

// Splits `text` into records, tracking physical line numbers (a quoted field may span lines).
class RecordReader {
 public:
  RecordReader(const fs::path& file, std::string_view text, char delimiter, bool quoting)
      : file_(file), text_(text), delimiter_(delimiter), quoting_(quoting) {}

  // Next non-blank record; false at the end of the text.
  bool next(Record& record) {
    while (pos_ < text_.size()) {
      record.line = line_;
      record.fields.clear();
      record.offsets.clear();
      if (at_line_end()) {  // blank line
        skip_line_end();
        continue;
      }
      read_record(record);
      return true;
    }
    return false;
  }

 private:
  bool at_line_end() const {
    return text_[pos_] == '\n' || (text_[pos_] == '\r' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '\n');
  }
  void skip_line_end() {
    pos_ += text_[pos_] == '\r' ? 2 : 1;
    ++line_;
  }

  void read_record(Record& record) {
    std::string field;
    while (true) {
      field.clear();
      // Exact for unquoted fields; for quoted ones it is the byte after the opening quote (a "" pair
      // before a bad byte shifts the reported offset by one per pair).
      record.offsets.push_back(pos_ + (quoting_ && pos_ < text_.size() && text_[pos_] == '"' ? 1 : 0));
      if (quoting_ && pos_ < text_.size() && text_[pos_] == '"') {
        read_quoted(field, record);
      } else {
        while (pos_ < text_.size() && text_[pos_] != delimiter_ && !at_line_end()) field += text_[pos_++];
      }
      record.fields.push_back(field);
      if (pos_ >= text_.size()) return;
      if (text_[pos_] == delimiter_) {
        ++pos_;
        continue;
      }
      skip_line_end();
      return;
    }
  }

  void read_quoted(std::string& field, const Record& record) {
    const int64_t opened_line = line_;
    const std::size_t column = record.fields.size() + 1;
    ++pos_;
    while (true) {
      if (pos_ >= text_.size()) {
        fail_at(file_, opened_line,
                "field " + std::to_string(column) + " opens a quote that is never closed; set quoting = false "
                "if this file uses bare quotes");
      }
      const char c = text_[pos_];
      if (c == '"') {
        if (pos_ + 1 < text_.size() && text_[pos_ + 1] == '"') {
          field += '"';
          pos_ += 2;
          continue;
        }
        ++pos_;
        break;
      }
      if (c == '\n') ++line_;
      field += c;
      ++pos_;
    }
    if (pos_ < text_.size() && text_[pos_] != delimiter_ && !at_line_end()) {
      fail_at(file_, line_,
              "text after the closing quote of field " + std::to_string(column) +
                  "; set quoting = false if this file uses bare quotes");
    }
  }

  const fs::path& file_;
  std::string_view text_;
  char delimiter_;
  bool quoting_;
  std::size_t pos_ = 0;
  int64_t line_ = 1;
};

std::string describe(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) {
    if (!out.empty()) out += ", ";
    out += "'" + n + "'";
  }
  return out;
}

// Index of `name` among the columns; with no header, `name` is a 0-based number.
std::size_t column_index(const fs::path& file, const Record& first, bool header, const std::string& option,
                         const std::string& name) {
  if (header) {
    for (std::size_t i = 0; i < first.fields.size(); ++i) {
      if (first.fields[i] == name) return i;
    }
    fail_at(file, first.line,
            "the header has no column '" + name + "' (" + option + "); its columns are " + describe(first.fields));
  }
  std::size_t index = 0;
  auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), index);
  if (ec != std::errc() || end != name.data() + name.size()) {
    fail_at(file, first.line, option + " = '" + name + "': without a header row, columns are numbered from 0");
  }
  if (index >= first.fields.size()) {
    fail_at(file, first.line,
            option + " = " + name + ", but rows have " + std::to_string(first.fields.size()) +
                " columns (numbered from 0)");
  }
  return index;
}

}  // namespace

TextDataset TextDataset::subset(const std::vector<int64_t>& indices) const {
  TextDataset out;
  for (int64_t i : indices) {
    detail::check_index(i, size(), "TextDataset::subset");
    out.texts.push_back(texts[i]);
    if (!text_pairs.empty()) out.text_pairs.push_back(text_pairs[i]);
    out.labels.push_back(labels[i]);
    if (!lines.empty()) out.lines.push_back(lines[i]);
  }
  return out;
}

void require_known_labels(const TextDataset& test, const fs::path& test_file, const std::vector<std::string>& train) {
  const std::set<std::string> known(train.begin(), train.end());
  for (std::size_t i = 0; i < test.labels.size(); ++i) {
    if (known.count(test.labels[i])) continue;
    const std::string names = detail::join_names(known);
    const int64_t line = i < test.lines.size() ? test.lines[i] : static_cast<int64_t>(i) + 1;
    fail_at(test_file, line,
            "label '" + test.labels[i] + "' is not one of the " + std::to_string(known.size()) +
                " labels of the training file (" + names +
                "); a class must appear in training to be learned: fix the label or add training examples of it");
  }
}

TextDataset read_delimited(const fs::path& file, const DelimitedOptions& options) {
  std::size_t bom = 0;
  const std::string text = detail::read_text_file(file, detail::kUserFileHint, &bom);
  char delimiter = options.delimiter;
  if (delimiter == '\0') delimiter = file.extension() == ".csv" ? ',' : '\t';
  if (delimiter == '"' || delimiter == '\n' || delimiter == '\r') {
    throw InputError(file.string() + ": a field delimiter cannot be a quote or a line break");
  }

  RecordReader reader(file, text, delimiter, options.quoting);
  Record first;
  if (!reader.next(first)) fail_at(file, 1, "the file is empty: expected a header row and data rows");
  const std::size_t width = first.fields.size();
  const std::size_t text_col = column_index(file, first, options.header, "text_column", options.text_column);
  const std::size_t label_col = column_index(file, first, options.header, "label_column", options.label_column);
  const bool pair = !options.text_pair_column.empty();
  const std::size_t pair_col =
      pair ? column_index(file, first, options.header, "text_pair_column", options.text_pair_column) : 0;

  TextDataset out;
  Record record;
  bool have = options.header ? reader.next(record) : (record = first, true);
  for (; have; have = reader.next(record)) {
    if (record.fields.size() != width) {
      fail_at(file, record.line,
              "has " + std::to_string(record.fields.size()) + " fields, the " +
                  (options.header ? "header has " : "first row has ") + std::to_string(width) +
                  " (a stray delimiter or quote?)");
    }
    if (record.fields[label_col].empty()) fail_at(file, record.line, "empty label");
    detail::require_utf8(file, record.line, bom + record.offsets[label_col], record.fields[label_col],
                         "the label (column '" + options.label_column + "')");
    out.texts.push_back(repair_utf8(record.fields[text_col]));
    if (pair) out.text_pairs.push_back(repair_utf8(record.fields[pair_col]));
    out.labels.push_back(std::move(record.fields[label_col]));
    out.lines.push_back(record.line);
  }
  if (out.texts.empty()) fail_at(file, first.line, "no data rows after the header");
  return out;
}

}  // namespace datamux::data
