// Internal to the registry: opening one plugin library and checking its manifest, and the folders
// the default search path is made of.
#pragma once

#include <datamux/plugin.hpp>
#include <memory>
#include <string>
#include <vector>

namespace datamux::detail {

/// An opened, checked plugin library. `library` holds a boost::dll::shared_library: the library stays
/// loaded while any copy of it lives.
struct OpenedPlugin {
  std::string path;
  std::shared_ptr<void> library;
  const PluginManifest* manifest = nullptr;
};

/// Opens `path` (absolute) and checks it in order: loads, exports `datamux_plugin` through
/// DATAMUX_PLUGIN, ABI version, toolchain, then kind, name, factory (and that it builds that kind) and option schema.
/// Throws InputError with one message naming the file for the first check that fails.
OpenedPlugin open_plugin(const std::string& path);

/// True for file names a folder scan considers: libdatamux-<name>.so.
bool is_plugin_file_name(const std::string& file_name);

/// lib/datamux/plugins relative to the running executable, then relative to the registry library;
/// only folders that exist, without repeats.
std::vector<std::string> builtin_plugin_dirs();

/// The non-empty entries of DATAMUX_PLUGIN_PATH (colon-separated), in order.
std::vector<std::string> env_plugin_paths();

}  // namespace datamux::detail
