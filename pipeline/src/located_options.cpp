// Validation that reports each mistake at the key's origin, and flat `key=value` arguments read as TOML.
#include <datamux/pipeline/located_options.hpp>

#include <fmt/format.h>

#include <datamux/pipeline/toml_input.hpp>

namespace datamux::runtime {

Options validate_located(const std::vector<OptionSpec>& schema, const LocatedOptions& given, const std::string& where) {
  // One key at a time first: validate_options' message names the key but not where it was written,
  // and matching keys in message text would guess wrong for keys that are substrings of others.
  for (const auto& [key, value] : given.values.items()) {
    Options one;
    one.set(key, value);
    try {
      validate_options(schema, one, where);
    } catch (const InputError& e) {
      const auto it = given.origin.find(key);
      if (it == given.origin.end()) throw;
      throw InputError(fmt::format("{}: {}", it->second, e.what()));
    }
  }
  return validate_options(schema, given.values, where);
}

LocatedOptions parse_assignments(const std::vector<std::string>& args, const std::string& flag) {
  LocatedOptions out;
  for (const std::string& arg : args) {
    const toml::table t = detail::parse_assignment(arg, flag);
    for (auto&& [k, v] : t) {
      const std::string key(k.str()), where = flag + " " + arg;
      if (v.is_table())
        throw InputError(fmt::format("{}: '{}' is a dotted key or a table, but plugin options are single keys "
                                     "(see `datamux plugins info`)",
                                     where, key));
      out.values.set(key, detail::to_option_value(v, where));
      out.origin[key] = where;
    }
  }
  return out;
}

}  // namespace datamux::runtime
