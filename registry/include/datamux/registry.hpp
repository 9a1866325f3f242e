// datamux/registry.hpp - finds, validates and loads plugin libraries; creates components by name.
//
//   Registry reg = Registry::with_default_paths();      // built-in dir, then DATAMUX_PLUGIN_PATH
//   reg.add_search_path("/my/plugins");                  // e.g. a pipeline's plugin_paths
//   auto mux = reg.create<Multiplexer>("gaussian", opts, ctx, "[mux]");   // the kind follows from T
//
// A folder on the search path contributes every `libdatamux-*.so` in it; a file on the search path
// is loaded as it is. Each library is checked in this order, with one message per failure naming the
// file: it loads (dlerror text), it exports `datamux_plugin` (through DATAMUX_PLUGIN), its ABI version
// and toolchain equal this host's (both values shown), its manifest is sane (kind matching its factory, name,
// factory, option defaults that pass their own schema), and no other library has its kind and name.
// A folder scan records refused libraries (`problems()`) instead of failing, so one broken plugin
// does not hide the others; asking for a refused or duplicated name reports why.
//
// Every created object holds its library loaded (the shared_ptr's deleter keeps a reference and
// destroys the object first), so objects may outlive the Registry. All member functions are safe to
// call from several threads; factories run outside the lock.
#pragma once

#include <datamux/backbone.hpp>
#include <datamux/demultiplexer.hpp>
#include <datamux/head.hpp>
#include <datamux/multiplexer.hpp>
#include <datamux/plugin.hpp>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace datamux {

/// One loaded plugin library and its manifest. Owned by the Registry: pointers and references to it
/// stay valid while the Registry lives.
struct PluginInfo {
  std::string path;                // the library file (absolute, symlinks resolved)
  const PluginManifest* manifest;  // valid while `library` lives
  std::shared_ptr<void> library;   // keeps the library loaded
};

/// A library or search-path entry the registry refused while scanning, and why.
struct PluginProblem {
  std::string path;
  std::string message;
};

/// "mux", "backbone", "demux", "head" -> the kind; anything else -> nullopt.
std::optional<PluginKind> parse_plugin_kind(const std::string& name);

class Registry {
 public:
  /// Search path: the built-in plugin folder (lib/datamux/plugins next to the executable, then next
  /// to this library; only folders that exist), then each entry of DATAMUX_PLUGIN_PATH (colon-separated).
  static Registry with_default_paths();
  /// The built-in plugin folders that exist, in search order.
  static std::vector<std::string> builtin_plugin_dirs();

  Registry();
  ~Registry();
  Registry(Registry&&) noexcept;
  Registry& operator=(Registry&&) noexcept;  // a moved-from Registry may only be destroyed or assigned

  /// Appends a folder (or a single library file) to the search path; scanned lazily, once.
  void add_search_path(const std::string& path);
  std::vector<std::string> search_paths() const;

  /// Loads one library file explicitly (or returns it if already loaded). Throws InputError naming the
  /// file: not loadable, no `datamux_plugin` symbol, ABI or toolchain mismatch (both values), bad
  /// manifest, duplicate kind+name (both files).
  const PluginInfo& load(const std::string& library_path);

  /// Every plugin found on the search path, sorted by kind then name (scans pending paths first).
  std::vector<const PluginInfo*> list();
  /// Libraries and paths refused while scanning (scans pending paths first).
  std::vector<PluginProblem> problems();
  /// Throws InputError "no <kind> plugin named 'x'; did you mean 'y'? (searched: ...)", or the
  /// duplicate message when two libraries provide kind+name.
  const PluginInfo& find(PluginKind kind, const std::string& name);
  /// Plugins of any kind with this name (e.g. an `mlp` backbone and an `mlp` demux); may be empty.
  std::vector<const PluginInfo*> find_any_kind(const std::string& name);

  /// Validates `options` against the plugin's schema (messages name `where`, e.g. "[mux]"), calls
  /// its factory and checks the object implements the kind's interface. A factory that throws is
  /// reported as InputError naming the plugin and its message.
  ///
  /// Randomness, in this one place: the factory always gets a non-null `ctx.rng`. When the validated
  /// options hold a non-zero `seed` (a plugin's own seed option), ctx.seed becomes that seed and
  /// ctx.rng a fresh stream from it; otherwise the caller's rng is passed on, or a fresh stream from
  /// ctx.seed when the caller gave none.
  std::shared_ptr<Module> create_module(PluginKind kind, const std::string& name, const Options& options,
                                        const BuildContext& ctx, const std::string& where);
  /// create_module for the kind whose interface T is (Multiplexer, Backbone, Demultiplexer, Head).
  template <class T>
  std::shared_ptr<T> create(const std::string& name, const Options& options, const BuildContext& ctx,
                            const std::string& where) {
    // create_module has checked that the object implements the kind's interface, which is T.
    return std::dynamic_pointer_cast<T>(create_module(plugin_kind_of<T>(), name, options, ctx, where));
  }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace datamux
