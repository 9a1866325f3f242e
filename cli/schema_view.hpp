// One rendering of an options schema for every place that shows one: `datamux plugins info` (text and
// --json) and `datamux docs pipelines` (Markdown and --json). Each option is described once, by
// option_row(), so the views cannot word an option differently (or list its choices twice).
#pragma once

#include <datamux/options.hpp>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace datamux::cli {

/// An option as every view shows it.
struct OptionRow {
  std::string key;
  std::string type;           // "float"
  std::string default_value;  // as TOML: 1.0, "mean", [1, 2]
  std::string allowed;        // "[0.0, 1.0]", ">= 1", "one of "a", "b"" or ""
  std::string doc;
};
OptionRow option_row(const OptionSpec& spec);

/// A Markdown table: key, type, default, allowed, meaning ("No options." when empty).
std::string schema_markdown(const std::vector<OptionSpec>& schema);
/// Lines for a terminal, indented by four: `key = default  # type, allowed` then the doc below it.
std::string schema_text(const std::vector<OptionSpec>& schema);
/// An array of {key, type, default, allowed, doc, and min, max or choices when set}.
nlohmann::json schema_json(const std::vector<OptionSpec>& schema);

}  // namespace datamux::cli
