// datamux/pipeline/located_options.hpp - options as a user gave them, each with where it was given (a
// pipeline file's line and column, or the command-line argument), so that a mistake in one key is
// reported there and not just at its section.
#pragma once

#include <datamux/options.hpp>

#include <map>
#include <string>
#include <vector>

namespace datamux::runtime {

struct LocatedOptions {
  Options values;
  /// key -> "retrieval.toml:14:1" or "--set mux.norm=20"; a key without an entry has no known origin.
  std::map<std::string, std::string> origin;
};

/// validate_options(), but an unknown key (with its "did you mean"), a wrong type or a value out of
/// range is reported at that key's origin: "retrieval.toml:14:1: [mux] norm: -1.0 is out of range >= 0.0".
/// `where` names the section as in validate_options ("[mux]").
Options validate_located(const std::vector<OptionSpec>& schema, const LocatedOptions& given, const std::string& where);

/// Flat `key=value` arguments (`datamux plugins try --set norm=20`), each value parsed as TOML: numbers,
/// booleans, "quoted strings", [arrays]; a single unquoted word is a string (`--set reduce=sum`).
/// Throws InputError naming the argument when it is not `key=value` or its value is not TOML.
LocatedOptions parse_assignments(const std::vector<std::string>& args, const std::string& flag = "--set");

}  // namespace datamux::runtime
