// Shared by the data readers: error messages that name the file and line, whole-file reads that refuse
// FIFOs, devices and folders without blocking (core's ReadOnlyFile).
#include <datamux/data/read_util.hpp>

#include <datamux/core/regular_file.hpp>
#include <datamux/data/utf8.hpp>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace datamux::data::detail {

namespace fs = std::filesystem;

void fail_at(const fs::path& file, int64_t line, const std::string& what) {
  throw InputError(file.string() + ":" + std::to_string(line) + ": " + what);
}

void fail(const fs::path& file, const std::string& what) { throw InputError(file.string() + ": " + what); }

void require_utf8(const fs::path& file, int64_t line, uint64_t offset, std::string_view s, std::string_view what) {
  const std::size_t bad = first_invalid_utf8(s);
  if (bad == std::string_view::npos) return;
  char hex[8];
  std::snprintf(hex, sizeof hex, "0x%02X", static_cast<unsigned char>(s[bad]));
  fail_at(file, line,
          "byte " + std::to_string(offset + bad) + ": " + std::string(what) + " is not valid UTF-8 (byte " + hex +
              "); datamux reads text files as UTF-8: convert the file, e.g. iconv -f latin1 -t utf-8");
}

void require_file(const fs::path& file, std::string_view provider) {
  std::error_code ec;
  const fs::file_status st = fs::status(file, ec);
  if (!fs::exists(st)) fail(file, "no such file; " + std::string(provider));
  require_regular_file(file.string(), "");  // a FIFO, device or folder: refused by name, never opened
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

std::string join_names(const std::set<std::string>& names, std::size_t most) {
  std::string out;
  std::size_t shown = 0;
  for (const std::string& n : names) {
    if (shown++ == most) return out + ", ...";
    out += (out.empty() ? "" : ", ") + n;
  }
  return out;
}

void require_dir(const fs::path& dir, std::string_view provider) {
  std::error_code ec;
  if (fs::is_directory(dir, ec)) return;
  if (fs::exists(dir, ec)) fail(dir, "not a directory");
  fail(dir, "no such directory; " + std::string(provider));
}

std::string read_text_file(const fs::path& file, std::string_view provider, std::size_t* bom) {
  require_file(file, provider);
  ReadOnlyFile in(file.string(), "");
  std::string text = in.read_all(kMaxTextFileBytes, "split the file, or check that this is the data file meant");
  const bool has_bom = text.size() >= 3 && text.compare(0, 3, "\xEF\xBB\xBF") == 0;
  if (has_bom) text.erase(0, 3);
  if (bom) *bom = has_bom ? 3 : 0;
  return text;
}

}  // namespace datamux::data::detail
