// datamux/plugin.hpp - what a plugin library exports.
//
// A plugin is a shared library with exactly one exported symbol, `datamux_plugin`, a function that
// returns its PluginManifest. Write one with the DATAMUX_PLUGIN macro:
//
//   class Rotate : public datamux::Multiplexer { ... };
//   DATAMUX_PLUGIN(datamux::PluginKind::Mux, "rotate", "1.0.0", "Rotates each instance by its own angle",
//                  (std::vector<datamux::OptionSpec>{datamux::opt_float("angle", 0.1, "radians", 0.0)}),
//                  [](const datamux::Options& o, const datamux::BuildContext& ctx) -> std::unique_ptr<datamux::Module> {
//                    return std::make_unique<Rotate>(o, ctx);
//                  })
//
// The registry checks abi_version and toolchain before it reads anything else, validates options
// against `options` before calling `create`, and keeps the library loaded while any object created
// from it lives. `create` may throw datamux::InputError for a configuration it cannot build (e.g. a
// shape that does not fit); the registry reports it with the plugin's name.
#pragma once

#include <datamux/context.hpp>
#include <datamux/module.hpp>
#include <datamux/options.hpp>
#include <datamux/version.hpp>

#include <cstdint>
#include <memory>
#include <vector>

namespace datamux {

enum class PluginKind : uint8_t { Mux = 0, Backbone = 1, Demux = 2, Head = 3 };
const char* plugin_kind_name(PluginKind k);  // "mux", "backbone", "demux", "head"

using PluginFactory = std::unique_ptr<Module> (*)(const Options& options, const BuildContext& ctx);

/// Append-only: new fields go at the end, and struct_size tells the host how much a plugin filled.
struct PluginManifest {
  uint32_t abi_version = kAbiVersion;
  uint32_t struct_size = sizeof(PluginManifest);
  const char* toolchain = DATAMUX_TOOLCHAIN;
  PluginKind kind = PluginKind::Mux;
  const char* name = "";
  const char* version = "";
  const char* description = "";
  std::vector<OptionSpec> options;
  PluginFactory create = nullptr;  // returns a Multiplexer, Backbone, Demultiplexer or Head per kind
};

using PluginEntry = const PluginManifest& (*)();

}  // namespace datamux

#define DATAMUX_PLUGIN_SYMBOL datamux_plugin

#if defined(DATAMUX_PLUGIN_NO_EXPORT)
// Built into a test binary directly: no Boost.DLL export.
#define DATAMUX_PLUGIN_EXPORT_(fn)
#else
#include <boost/dll/alias.hpp>
#define DATAMUX_PLUGIN_EXPORT_(fn) BOOST_DLL_ALIAS(fn, datamux_plugin)
#endif

/// Defines and exports the manifest. SCHEMA is a parenthesised std::vector<OptionSpec> expression;
/// FACTORY a captureless lambda or function convertible to PluginFactory.
#define DATAMUX_PLUGIN(KIND, NAME, VERSION, DESCRIPTION, SCHEMA, FACTORY)       \
  namespace {                                                                    \
  const ::datamux::PluginManifest& datamux_plugin_manifest_() {                  \
    static const ::datamux::PluginManifest m = [] {                              \
      ::datamux::PluginManifest x;                                               \
      x.kind = KIND;                                                             \
      x.name = NAME;                                                             \
      x.version = VERSION;                                                       \
      x.description = DESCRIPTION;                                               \
      x.options = SCHEMA;                                                        \
      x.create = FACTORY;                                                        \
      return x;                                                                  \
    }();                                                                         \
    return m;                                                                    \
  }                                                                              \
  }                                                                              \
  DATAMUX_PLUGIN_EXPORT_(datamux_plugin_manifest_)
