// datamux/pipeline/toml_input.hpp - TOML as the one reader of user-given options, whether they come from a
// pipeline file or a `key=value` command-line argument, and where each value came from.
#pragma once

#include <datamux/pipeline/located_options.hpp>

#include <toml++/toml.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace datamux::runtime::detail {

/// Bounds on a TOML file a user names: its size, and how deep tables, dotted keys and arrays nest
/// (TOML++ recurses per level; a file nesting 300,000 levels would overflow the stack).
inline constexpr uint64_t kMaxTomlFileBytes = uint64_t(16) << 20;
inline constexpr int64_t kMaxTomlDepth = 64;
/// Keys in one section (a plugin's options are a few dozen).
inline constexpr std::size_t kMaxSectionKeys = 1024;

/// Reads `path` (only a regular file: a FIFO or device is refused by name; `what` names its role, e.g.
/// "pipeline") as TOML after checking its size and nesting. Throws InputError with file:line.
toml::table read_toml_file(const std::string& path, std::string_view what);

/// Throws InputError "<where>:<line>: ... nest more than 64 levels" when `text` nests deeper than
/// kMaxTomlDepth (without parsing it).
void check_toml_nesting(std::string_view text, const std::string& where);

/// "file:line:column" of a node, or the command-line argument that set it (see parse_assignment).
/// `fallback_path` names the file when the node carries no path.
std::string loc(const toml::source_region& src, const std::string& fallback_path);

/// Parses one command-line argument `key=value` (`flag` is the option that carried it, e.g. "--set")
/// as a TOML document, so types, quoting, arrays and dotted keys follow TOML. The one exception, so
/// that `--set mux.plugin=gaussian` works unquoted: a value that is not valid TOML but is a single word
/// (a letter or '_' first, then letters, digits and `_ - . /`) is read as that string. Every node's
/// source names the argument, so loc() reports "--set key=value". Throws InputError naming it.
toml::table parse_assignment(const std::string& arg, const std::string& flag);

/// A TOML value as an option value; tables, dates and mixed arrays are refused naming `where`.
OptionValue to_option_value(const toml::node& node, const std::string& where);

/// A table's keys as options, each with its origin (the key's file:line:column). `skip` names a key to
/// leave out of the values, e.g. "plugin"; its origin is still recorded.
LocatedOptions table_options(const toml::table& t, const std::string& section, const std::string& path,
                             const std::string& skip = "");

}  // namespace datamux::runtime::detail
