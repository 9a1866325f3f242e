// datamux/options.hpp - typed plugin options and the schema that declares them.
//
// A plugin declares every option it accepts (key, type, default, range or choices, doc) in its
// manifest. The registry validates the pipeline's sub-table against that schema before `create` runs,
// so inside `create` every `get` succeeds: unknown keys, wrong types and out-of-range values have
// already been reported with the pipeline key that holds them.
#pragma once

#include <datamux/error.hpp>
#include <datamux/version.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace datamux {

enum class OptionType : uint8_t { Bool, Int, Float, String, IntList };
const char* option_type_name(OptionType t);

using IntList = std::vector<int64_t>;
using OptionValue = std::variant<bool, int64_t, double, std::string, IntList>;
std::string option_value_str(const OptionValue& v);

struct OptionSpec {
  std::string key;
  OptionType type = OptionType::Float;
  OptionValue default_value;
  std::optional<double> min;          // inclusive, Int and Float
  std::optional<double> max;          // inclusive, Int and Float
  std::vector<std::string> choices;   // String: allowed values (empty = any)
  std::string doc;
};
/// The spec's range for messages and docs: "[lo, hi]", ">= lo", "<= hi", or "" when unbounded.
std::string option_range_str(const OptionSpec& spec);

// Schema helpers, so a manifest reads as a table:
//   opt_float("norm", 1.0, "L2 norm of each instance code", 0.0)
OptionSpec opt_bool(std::string key, bool def, std::string doc);
OptionSpec opt_int(std::string key, int64_t def, std::string doc, std::optional<double> min = {},
                   std::optional<double> max = {});
OptionSpec opt_float(std::string key, double def, std::string doc, std::optional<double> min = {},
                     std::optional<double> max = {});
OptionSpec opt_string(std::string key, std::string def, std::string doc, std::vector<std::string> choices = {});
OptionSpec opt_int_list(std::string key, IntList def, std::string doc);

/// A validated bag of options: the given values merged over the schema's defaults.
class Options {
 public:
  Options() = default;
  void set(const std::string& key, OptionValue v);
  bool has(const std::string& key) const;
  const OptionValue* find(const std::string& key) const;
  bool get_bool(const std::string& key) const;
  int64_t get_int(const std::string& key) const;
  double get_float(const std::string& key) const;  // an Int value converts
  const std::string& get_string(const std::string& key) const;
  const IntList& get_int_list(const std::string& key) const;
  const std::vector<std::pair<std::string, OptionValue>>& items() const { return items_; }

 private:
  std::vector<std::pair<std::string, OptionValue>> items_;
};

/// Checks `given` against `schema` and returns it merged over the defaults. `where` names the pipeline
/// section for messages (e.g. "[mux]"). Throws InputError: unknown key (with a "did you mean"),
/// wrong type, out of range, not one of the choices.
Options validate_options(const std::vector<OptionSpec>& schema, const Options& given, const std::string& where);

/// `s` as a message shows it: the first `max_bytes` bytes and "... (N bytes in all)" when longer, so a
/// 10 MB value never becomes a 10 MB message.
std::string clip_for_message(std::string_view s, std::size_t max_bytes = 120);

/// Closest candidate by edit distance, or "" when none is close enough to suggest.
std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace datamux
