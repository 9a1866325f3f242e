// Typed plugin options: the bag of values, the schema helpers, and validation of a pipeline section
// against a plugin's schema with one clear message per mistake ("[mux] norm: ...").
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <datamux/options.hpp>
#include <stdexcept>

namespace datamux {
namespace {

// Name of the type a value holds, for messages ("expects a float, got a string").
const char* held_type_name(const OptionValue& v) {
  switch (v.index()) {
    case 0:
      return "bool";
    case 1:
      return "int";
    case 2:
      return "float";
    case 3:
      return "string";
    default:
      return "int list";
  }
}

const char* article(const char* type_name) { return type_name[0] == 'i' ? "an" : "a"; }

std::string float_str(double x) {
  if (std::isnan(x)) return "nan";
  if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, x);
  std::string s(buf, end);
  if (s.find_first_of(".en") == std::string::npos) s += ".0";  // keep it a float when read as TOML
  return s;
}

std::string bound_str(double b, OptionType t) {
  return t == OptionType::Int ? fmt::format("{}", static_cast<int64_t>(b)) : float_str(b);
}

// "[lo, hi]", ">= lo" or "<= hi", for messages and `datamux plugins info`.
std::string range_str(const OptionSpec& s) {
  if (s.min && s.max) return fmt::format("[{}, {}]", bound_str(*s.min, s.type), bound_str(*s.max, s.type));
  if (s.min) return ">= " + bound_str(*s.min, s.type);
  if (s.max) return "<= " + bound_str(*s.max, s.type);
  return "";
}

std::string quoted_list(const std::vector<std::string>& xs) {
  std::string out;
  for (const auto& x : xs) out += (out.empty() ? "\"" : ", \"") + x + "\"";
  return out;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Optimal string alignment distance: edits, with a swap of two neighbours counting as one edit
// (the commonest typo: "stpes" for "steps").
size_t edit_distance(const std::string& a, const std::string& b) {
  const size_t n = a.size(), m = b.size();
  std::vector<std::vector<size_t>> d(n + 1, std::vector<size_t>(m + 1));
  for (size_t i = 0; i <= n; ++i) d[i][0] = i;
  for (size_t j = 0; j <= m; ++j) d[0][j] = j;
  for (size_t i = 1; i <= n; ++i)
    for (size_t j = 1; j <= m; ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[n][m];
}

template <class T>
const T& get_as(const std::vector<std::pair<std::string, OptionValue>>& items, const std::string& key,
                const char* wanted) {
  for (const auto& [k, v] : items)
    if (k == key) {
      if (const T* x = std::get_if<T>(&v)) return *x;
      throw std::invalid_argument(fmt::format("option '{}' holds {} {}, not {} {}", key, article(held_type_name(v)),
                                              held_type_name(v), article(wanted), wanted));
    }
  throw std::invalid_argument(
      fmt::format("option '{}' is not set (is it declared in the plugin's options schema?)", key));
}

// Checks one given value against its spec and returns it in the spec's type (an int given for a float
// becomes a double). `at` is "[section] key" for messages.
OptionValue checked_value(const OptionSpec& s, const OptionValue& v, const std::string& at) {
  const char* want = option_type_name(s.type);
  auto wrong_type = [&] {
    return InputError(fmt::format("{}: expects {} {}, got {} {} ({})", at, article(want), want,
                                  article(held_type_name(v)), held_type_name(v), option_value_str(v)));
  };
  switch (s.type) {
    case OptionType::Bool:
      if (!std::holds_alternative<bool>(v)) throw wrong_type();
      return v;
    case OptionType::String: {
      const std::string* x = std::get_if<std::string>(&v);
      if (!x) throw wrong_type();
      if (!s.choices.empty() && std::find(s.choices.begin(), s.choices.end(), *x) == s.choices.end()) {
        const std::string hint = did_you_mean(*x, s.choices);
        throw InputError(fmt::format("{}: \"{}\" is not one of {}{}", at, clip_for_message(*x), quoted_list(s.choices),
                                     hint.empty() ? "" : fmt::format("; did you mean \"{}\"?", hint)));
      }
      return v;
    }
    case OptionType::IntList:
      if (!std::holds_alternative<IntList>(v)) throw wrong_type();
      return v;
    case OptionType::Int:
    case OptionType::Float:
      break;
  }
  double x = 0;
  OptionValue out = v;
  if (s.type == OptionType::Int) {
    const int64_t* i = std::get_if<int64_t>(&v);
    if (!i) throw wrong_type();
    x = static_cast<double>(*i);
  } else {
    if (const int64_t* i = std::get_if<int64_t>(&v)) {
      x = static_cast<double>(*i);
      out = x;
    } else if (const double* d = std::get_if<double>(&v)) {
      x = *d;
    } else {
      throw wrong_type();
    }
    if (!std::isfinite(x)) throw InputError(fmt::format("{}: must be a finite number, got {}", at, float_str(x)));
  }
  if ((s.min && x < *s.min) || (s.max && x > *s.max))
    throw InputError(fmt::format("{}: {} is out of range {}", at, option_value_str(v), range_str(s)));
  return out;
}

}  // namespace

std::string clip_for_message(std::string_view s, std::size_t max_bytes) {
  if (s.size() <= max_bytes) return std::string(s);
  std::size_t cut = max_bytes;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;  // not inside a UTF-8 character
  return fmt::format("{}... ({} bytes in all)", s.substr(0, cut), s.size());
}

std::string option_value_str(const OptionValue& v) {
  switch (v.index()) {
    case 0:
      return std::get<bool>(v) ? "true" : "false";
    case 1:
      return std::to_string(std::get<int64_t>(v));
    case 2:
      return float_str(std::get<double>(v));
    case 3:
      return "\"" + clip_for_message(std::get<std::string>(v)) + "\"";
    default: {
      // A message shows a few values; a list of a million would be a megabyte of output.
      constexpr std::size_t kShown = 32;
      const IntList& xs = std::get<IntList>(v);
      std::string out = "[";
      for (std::size_t i = 0; i < xs.size() && i < kShown; ++i) out += (i ? ", " : "") + std::to_string(xs[i]);
      if (xs.size() > kShown) out += fmt::format(", ... ({} values)", xs.size());
      return out + "]";
    }
  }
}

std::string option_range_str(const OptionSpec& spec) {
  if (!spec.choices.empty()) return "one of " + quoted_list(spec.choices);
  return range_str(spec);
}

OptionSpec opt_bool(std::string key, bool def, std::string doc) {
  return OptionSpec{std::move(key), OptionType::Bool, def, {}, {}, {}, std::move(doc)};
}
OptionSpec opt_int(std::string key, int64_t def, std::string doc, std::optional<double> min,
                   std::optional<double> max) {
  return OptionSpec{std::move(key), OptionType::Int, def, min, max, {}, std::move(doc)};
}
OptionSpec opt_float(std::string key, double def, std::string doc, std::optional<double> min,
                     std::optional<double> max) {
  return OptionSpec{std::move(key), OptionType::Float, def, min, max, {}, std::move(doc)};
}
OptionSpec opt_string(std::string key, std::string def, std::string doc, std::vector<std::string> choices) {
  return OptionSpec{std::move(key), OptionType::String, std::move(def), {}, {}, std::move(choices), std::move(doc)};
}
OptionSpec opt_int_list(std::string key, IntList def, std::string doc) {
  return OptionSpec{std::move(key), OptionType::IntList, std::move(def), {}, {}, {}, std::move(doc)};
}

void Options::set(const std::string& key, OptionValue v) {
  for (auto& [k, x] : items_)
    if (k == key) {
      x = std::move(v);
      return;
    }
  items_.emplace_back(key, std::move(v));
}

bool Options::has(const std::string& key) const { return find(key) != nullptr; }

const OptionValue* Options::find(const std::string& key) const {
  for (const auto& [k, v] : items_)
    if (k == key) return &v;
  return nullptr;
}

bool Options::get_bool(const std::string& key) const { return get_as<bool>(items_, key, "bool"); }
int64_t Options::get_int(const std::string& key) const { return get_as<int64_t>(items_, key, "int"); }
const std::string& Options::get_string(const std::string& key) const {
  return get_as<std::string>(items_, key, "string");
}
const IntList& Options::get_int_list(const std::string& key) const { return get_as<IntList>(items_, key, "int list"); }

double Options::get_float(const std::string& key) const {
  const OptionValue* v = find(key);
  if (v && std::holds_alternative<int64_t>(*v)) return static_cast<double>(std::get<int64_t>(*v));
  return get_as<double>(items_, key, "float");
}

Options validate_options(const std::vector<OptionSpec>& schema, const Options& given, const std::string& where) {
  std::vector<std::string> keys;
  for (const auto& s : schema) keys.push_back(s.key);
  for (const auto& [key, value] : given.items()) {
    if (std::find(keys.begin(), keys.end(), key) != keys.end()) continue;
    const std::string hint = did_you_mean(key, keys);
    std::string msg = fmt::format("{} {}: unknown option", where, clip_for_message(key));
    if (keys.empty())
      msg += " (this section takes no options)";
    else if (!hint.empty())
      msg += fmt::format("; did you mean '{}'?", hint);
    else
      msg += fmt::format(" (known: {})", fmt::join(keys, ", "));
    throw InputError(msg);
  }
  Options out;
  for (const auto& s : schema) {
    const OptionValue* v = given.find(s.key);
    out.set(s.key, v ? checked_value(s, *v, where + " " + s.key) : s.default_value);
  }
  return out;
}

std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates) {
  // At most 3 edits are suggested, so a word much longer than every candidate matches none; checking
  // the lengths first keeps a 10 MB value from costing an edit-distance table of its size.
  const size_t limit = word.size() <= 5 ? 1 : word.size() <= 9 ? 2 : 3;
  std::string best;
  size_t best_d = limit + 1;
  const std::string w = word.size() <= 256 ? lower(word) : std::string();
  if (w.empty()) return best;
  for (const auto& c : candidates) {
    if ((c.size() > w.size() ? c.size() - w.size() : w.size() - c.size()) > limit) continue;
    const size_t d = edit_distance(w, lower(c));
    if (d < best_d && d < std::max(w.size(), c.size())) {
      best_d = d;
      best = c;
    }
  }
  return best;
}

}  // namespace datamux
