// Text, Markdown and JSON views of an options schema, all from option_row().
#include "schema_view.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace datamux::cli {
namespace {

std::string escape_pipes(const std::string& s) {
  std::string out;
  for (char ch : s) out += ch == '|' ? std::string("\\|") : std::string(1, ch);
  return out;
}

}  // namespace

OptionRow option_row(const OptionSpec& spec) {
  return {spec.key, option_type_name(spec.type), option_value_str(spec.default_value), option_range_str(spec), spec.doc};
}

std::string schema_markdown(const std::vector<OptionSpec>& schema) {
  if (schema.empty()) return "No options.\n";
  std::string s = "| key | type | default | allowed | meaning |\n|---|---|---|---|---|\n";
  for (const OptionSpec& spec : schema) {
    const OptionRow r = option_row(spec);
    s += fmt::format("| `{}` | {} | `{}` | {} | {} |\n", r.key, r.type, escape_pipes(r.default_value),
                     escape_pipes(r.allowed), escape_pipes(r.doc));
  }
  return s;
}

std::string schema_text(const std::vector<OptionSpec>& schema) {
  std::vector<OptionRow> rows;
  std::vector<std::string> lhs;
  size_t width = 0;
  for (const OptionSpec& spec : schema) {
    rows.push_back(option_row(spec));
    lhs.push_back(rows.back().key + " = " + rows.back().default_value);
    width = std::max(width, lhs.back().size());
  }
  std::string out;
  for (size_t i = 0; i < rows.size(); ++i) {
    const OptionRow& r = rows[i];
    out += fmt::format("    {:<{}}  # {}{}\n", lhs[i], width, r.type, r.allowed.empty() ? "" : ", " + r.allowed);
    if (!r.doc.empty()) out += fmt::format("        {}\n", r.doc);
  }
  return out;
}

nlohmann::json schema_json(const std::vector<OptionSpec>& schema) {
  nlohmann::json out = nlohmann::json::array();
  for (const OptionSpec& spec : schema) {
    const OptionRow r = option_row(spec);
    nlohmann::json o = {{"key", r.key}, {"type", r.type}, {"allowed", r.allowed}, {"doc", r.doc}};
    std::visit([&](const auto& v) { o["default"] = v; }, spec.default_value);
    if (spec.min) o["min"] = *spec.min;
    if (spec.max) o["max"] = *spec.max;
    if (!spec.choices.empty()) o["choices"] = spec.choices;
    out.push_back(o);
  }
  return out;
}

}  // namespace datamux::cli
