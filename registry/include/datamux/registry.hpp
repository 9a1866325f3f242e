// datamux/registry.hpp - finds, validates and loads plugin libraries; creates components by name.
//
//   Registry reg = Registry::with_default_paths();      // built-in dir, then DATAMUX_PLUGIN_PATH
//   reg.add_search_path("/my/plugins");                  // e.g. a pipeline's plugin_paths
//   auto mux = reg.create<Multiplexer>(PluginKind::Mux, "gaussian", opts, ctx, "[mux]");
//
// Every created object holds its library loaded (the shared_ptr's deleter keeps a reference), so
// objects may outlive the Registry. Lookups and creation are safe from several threads.
#pragma once

#include <datamux/backbone.hpp>
#include <datamux/demultiplexer.hpp>
#include <datamux/head.hpp>
#include <datamux/multiplexer.hpp>
#include <datamux/plugin.hpp>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace datamux {

/// One loaded plugin library and its manifest.
struct PluginInfo {
  std::string path;                  // the library file
  const PluginManifest* manifest;    // valid while `library` lives
  std::shared_ptr<void> library;     // keeps the library loaded
};

class Registry {
 public:
  /// Search path: the built-in plugin folder (next to the executable or under the install prefix),
  /// then each entry of DATAMUX_PLUGIN_PATH (colon-separated).
  static Registry with_default_paths();
  Registry();
  ~Registry();
  Registry(Registry&&) noexcept;
  Registry& operator=(Registry&&) noexcept;

  /// Appends a folder (or a single library file) to the search path; scanned lazily.
  void add_search_path(const std::string& path);
  const std::vector<std::string>& search_paths() const;

  /// Loads one library file explicitly. Throws InputError naming the file: not loadable, no
  /// `datamux_plugin` symbol, ABI or toolchain mismatch (both values), duplicate kind+name (both files).
  const PluginInfo& load(const std::string& library_path);

  /// Every plugin found on the search path (scans on first use; rescans after add_search_path).
  std::vector<const PluginInfo*> list();
  /// Throws InputError "no <kind> plugin named 'x'; did you mean 'y'? (searched: ...)".
  const PluginInfo& find(PluginKind kind, const std::string& name);

  /// Validates `options` against the plugin's schema (messages name `where`, e.g. "[mux]"), calls
  /// its factory and checks the object is of the kind's interface. A factory that throws is
  /// reported as InputError naming the plugin.
  std::shared_ptr<Module> create_module(PluginKind kind, const std::string& name, const Options& options,
                                        const BuildContext& ctx, const std::string& where);
  template <class T>
  std::shared_ptr<T> create(PluginKind kind, const std::string& name, const Options& options, const BuildContext& ctx,
                            const std::string& where) {
    return std::static_pointer_cast<T>(create_module(kind, name, options, ctx, where));
  }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace datamux
