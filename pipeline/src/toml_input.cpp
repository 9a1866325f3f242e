// TOML as the one reader of user-given options: pipeline files and `key=value` arguments alike.
#include <datamux/pipeline/toml_input.hpp>

#include <fmt/format.h>

#include <cctype>

namespace datamux::runtime::detail {
namespace {

// A value the user clearly meant as a string: a name or a relative path, never a TOML number,
// boolean or date (those start with a digit or a sign, or are true/false/inf/nan, which TOML
// parses first).
bool single_word(const std::string& v) {
  if (v.empty() || !(std::isalpha(static_cast<unsigned char>(v[0])) || v[0] == '_')) return false;
  for (char ch : v)
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '-' || ch == '.' || ch == '/'))
      return false;
  return true;
}

std::string trimmed(const std::string& s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

}  // namespace

std::string loc(const toml::source_region& src, const std::string& fallback_path) {
  std::string file = src.path ? std::string(*src.path) : fallback_path;
  // A command-line argument (see parse_assignment): its line and column would say nothing more.
  if (file.rfind("--", 0) == 0) return file;
  if (src.begin.line == 0) return file;
  return fmt::format("{}:{}:{}", file, src.begin.line, src.begin.column);
}

toml::table parse_assignment(const std::string& arg, const std::string& flag) {
  const std::string where = flag + " " + clip_for_message(arg);
  const auto eq = arg.find('=');
  if (eq == std::string::npos || eq == 0)
    throw InputError(fmt::format("{}: expected key=value, e.g. {} key=20 or {} 'key=\"text\"'", where, flag, flag));
  check_toml_nesting(arg, where);
  try {
    return toml::parse(arg, std::string(where));
  } catch (const toml::parse_error& e) {
    const std::string value = trimmed(arg.substr(eq + 1));
    if (single_word(value)) {
      try {
        return toml::parse(arg.substr(0, eq) + "= \"" + value + "\"", std::string(where));
      } catch (const toml::parse_error&) {
        // the key is what is wrong: report the first error
      }
    }
    throw InputError(fmt::format(
        "{}: not a TOML key = value ({} at column {}); quote a string that is not a single word, e.g. {} "
        "'key=\"two words\"'",
        where, e.description(), e.source().begin.column, flag));
  }
}

OptionValue to_option_value(const toml::node& n, const std::string& where) {
  if (auto v = n.as_boolean()) return v->get();
  if (auto v = n.as_integer()) return v->get();
  if (auto v = n.as_floating_point()) return v->get();
  if (auto v = n.as_string()) return v->get();
  if (auto a = n.as_array()) {
    IntList out;
    for (auto&& e : *a) {
      auto i = e.as_integer();
      if (!i) throw InputError(fmt::format("{}: only arrays of integers are supported", where));
      out.push_back(i->get());
    }
    return out;
  }
  throw InputError(fmt::format("{}: unsupported value type (use a bool, number, string or array of integers)", where));
}

LocatedOptions table_options(const toml::table& t, const std::string& section, const std::string& path,
                             const std::string& skip) {
  // Options are a short list (a plugin has a few dozen): bounding a section's keys keeps a file with
  // 200,000 of them from costing minutes of list look-ups before the first unknown key is reported.
  if (t.size() > kMaxSectionKeys)
    throw InputError(fmt::format("{}: [{}] has {} keys; a section holds at most {} (options are listed by "
                                 "`datamux plugins info` and in docs/pipelines.md)",
                                 loc(t.source(), path), section, t.size(), kMaxSectionKeys));
  LocatedOptions o;
  for (auto&& [k, v] : t) {
    const std::string key(k.str());
    // The key's position, not the value's: "norm" is what the message names.
    const std::string at = loc(k.source().begin.line ? k.source() : v.source(), path);
    o.origin[key] = at;
    if (key != skip) o.values.set(key, to_option_value(v, fmt::format("{}: [{}] {}", at, section, key)));
  }
  return o;
}

}  // namespace datamux::runtime::detail
