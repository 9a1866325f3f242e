// Shared by the data readers: error messages that name the file and line, whole-file reads.
#include <datamux/runtime/data/read_util.hpp>

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace datamux::data::detail {

namespace fs = std::filesystem;

void fail_at(const fs::path& file, int64_t line, const std::string& what) {
  throw InputError(file.string() + ":" + std::to_string(line) + ": " + what);
}

void fail(const fs::path& file, const std::string& what) { throw InputError(file.string() + ": " + what); }

void require_file(const fs::path& file, std::string_view provider) {
  std::error_code ec;
  if (fs::is_regular_file(file, ec)) return;
  if (fs::exists(file, ec)) fail(file, "not a regular file");
  fail(file, "no such file; " + std::string(provider));
}

void check_index(int64_t i, int64_t size, const char* who) {
  if (i < 0 || i >= size)
    throw std::out_of_range(std::string(who) + ": index " + std::to_string(i) + " outside [0, " + std::to_string(size) + ")");
}

std::vector<std::string_view> split_whitespace(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    const std::size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

void require_dir(const fs::path& dir, std::string_view provider) {
  std::error_code ec;
  if (fs::is_directory(dir, ec)) return;
  if (fs::exists(dir, ec)) fail(dir, "not a directory");
  fail(dir, "no such directory; " + std::string(provider));
}

std::string read_text_file(const fs::path& file, std::string_view provider) {
  require_file(file, provider);
  std::ifstream in(file, std::ios::binary);
  if (!in) fail(file, "cannot be opened for reading (permissions?)");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) fail(file, "read error");
  std::string text = std::move(buffer).str();
  if (text.size() >= 3 && text.compare(0, 3, "\xEF\xBB\xBF") == 0) text.erase(0, 3);
  return text;
}

}  // namespace datamux::data::detail
