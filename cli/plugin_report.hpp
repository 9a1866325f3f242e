// Text and JSON descriptions of plugins, shared by `datamux plugins list|info` and the docs generator.
#pragma once

#include <datamux/registry.hpp>
#include <nlohmann/json.hpp>
#include <string>

namespace datamux::cli {

/// One row per plugin: kind, name, version, library path, description.
std::string plugin_table(const std::vector<const PluginInfo*>& plugins);
/// Manifest and every option with type, default, range or choices, and doc.
std::string plugin_details(const PluginInfo& info);
nlohmann::json plugin_json(const PluginInfo& info, bool with_options);

}  // namespace datamux::cli
