// Formatting of plugin manifests for people (aligned tables) and programs (JSON).
#include "plugin_report.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "schema_view.hpp"

namespace datamux::cli {

std::string plugin_table(const std::vector<const PluginInfo*>& plugins) {
  const std::vector<std::string> head = {"KIND", "NAME", "VERSION", "LIBRARY", "DESCRIPTION"};
  std::vector<std::vector<std::string>> rows;
  for (const PluginInfo* p : plugins)
    rows.push_back({plugin_kind_name(p->manifest->kind), p->manifest->name, p->manifest->version, p->path,
                    p->manifest->description});
  std::vector<size_t> width(head.size());
  for (size_t c = 0; c < head.size(); ++c) {
    width[c] = head[c].size();
    for (const auto& r : rows) width[c] = std::max(width[c], r[c].size());
  }
  auto line = [&](const std::vector<std::string>& r) {
    std::string s;
    for (size_t c = 0; c + 1 < r.size(); ++c) s += fmt::format("{:<{}}  ", r[c], width[c]);
    return s + r.back() + "\n";
  };
  std::string out = line(head);
  for (const auto& r : rows) out += line(r);
  return out;
}

std::string plugin_details(const PluginInfo& info) {
  const PluginManifest& m = *info.manifest;
  const std::string kind = plugin_kind_name(m.kind);
  std::string out = fmt::format("{} plugin '{}', version {}\n  {}\n", kind, m.name, m.version, m.description);
  out += fmt::format("  library:   {}\n", info.path);
  out += fmt::format("  sdk:       ABI {}, toolchain {}\n", m.abi_version, m.toolchain);
  if (m.options.empty()) return out + "  options:   none\n";
  out += fmt::format("  options (keys of the pipeline's [{}] section, next to plugin = \"{}\"):\n", kind, m.name);
  return out + schema_text(m.options);
}

nlohmann::json plugin_json(const PluginInfo& info, bool with_options) {
  const PluginManifest& m = *info.manifest;
  nlohmann::json j = {{"kind", plugin_kind_name(m.kind)},
                      {"name", m.name},
                      {"version", m.version},
                      {"library", info.path},
                      {"description", m.description}};
  if (!with_options) return j;
  j["abi_version"] = m.abi_version;
  j["toolchain"] = m.toolchain;
  j["options"] = schema_json(m.options);
  return j;
}

}  // namespace datamux::cli
