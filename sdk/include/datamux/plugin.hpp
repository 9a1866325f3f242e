// datamux/plugin.hpp - what a plugin library exports: one manifest, declared in one statement.
//
//   class Rotate : public datamux::Multiplexer {
//    public:
//     Rotate(const datamux::Options& o, const datamux::BuildContext& ctx);
//     datamux::Tensor forward(const datamux::Tensor& x) override;
//   };
//   DATAMUX_PLUGIN({.name = "rotate",
//                   .version = "1.0.0",
//                   .description = "Rotates each instance by its own angle",
//                   .options = {datamux::opt_float("angle", 0.1, "radians", 0.0)},
//                   .create = datamux::factory<Rotate>})
//
// The kind (mux, backbone, demux, head) is deduced from the class `factory<T>` builds, so a manifest
// cannot claim one kind and build another. The registry checks abi_version and toolchain before it
// reads anything else, validates options against `options` before calling `create`, and keeps the
// library loaded while any object created from it lives. `create` may throw datamux::InputError for
// a configuration it cannot build (e.g. a shape that does not fit); the registry reports it with the
// plugin's name.
//
// ABI: C++ objects (this manifest's std::vector, Options, Module vtables, exceptions) cross the plugin
// boundary, so a plugin must be built with the host's compiler, standard library and -std against the
// same SDK. The toolchain string and kAbiVersion are that guarantee; the registry refuses a plugin
// whose values differ (both values in the message). Only the two leading fields have a frozen layout,
// so that the host can read them from any plugin, old or new.
#pragma once

#include <cstdint>
#include <datamux/backbone.hpp>
#include <datamux/context.hpp>
#include <datamux/demultiplexer.hpp>
#include <datamux/head.hpp>
#include <datamux/module.hpp>
#include <datamux/multiplexer.hpp>
#include <datamux/options.hpp>
#include <datamux/version.hpp>
#include <memory>
#include <type_traits>
#include <vector>

namespace datamux {

enum class PluginKind : uint8_t { Mux = 0, Backbone = 1, Demux = 2, Head = 3 };
const char* plugin_kind_name(PluginKind k);  // "mux", "backbone", "demux", "head"

/// The kind whose interface T implements: T derives from exactly one of Multiplexer, Backbone,
/// Demultiplexer and Head (or is one of them).
template <class T>
consteval PluginKind plugin_kind_of() {
  constexpr int bases = std::is_base_of_v<Multiplexer, T> + std::is_base_of_v<Backbone, T> +
                        std::is_base_of_v<Demultiplexer, T> + std::is_base_of_v<Head, T>;
  static_assert(bases == 1, "T must derive from exactly one of datamux::Multiplexer, Backbone, Demultiplexer, Head");
  if constexpr (std::is_base_of_v<Multiplexer, T>)
    return PluginKind::Mux;
  else if constexpr (std::is_base_of_v<Backbone, T>)
    return PluginKind::Backbone;
  else if constexpr (std::is_base_of_v<Demultiplexer, T>)
    return PluginKind::Demux;
  else
    return PluginKind::Head;
}

/// A plugin's factory and the kind of object it builds.
struct PluginFactory {
  PluginKind kind = PluginKind::Mux;
  std::unique_ptr<Module> (*fn)(const Options& options, const BuildContext& ctx) = nullptr;
};

namespace detail {
template <class T>
std::unique_ptr<Module> make_plugin_object(const Options& options, const BuildContext& ctx) {
  static_assert(std::is_constructible_v<T, const Options&, const BuildContext&>,
                "factory<T>: T needs a constructor T(const datamux::Options&, const datamux::BuildContext&)");
  return std::make_unique<T>(options, ctx);
}
}  // namespace detail

/// `.create = datamux::factory<T>`: builds T(options, ctx); the kind follows from T's base class.
template <class T>
inline constexpr PluginFactory factory{plugin_kind_of<T>(), &detail::make_plugin_object<T>};

struct PluginManifest {
  // Frozen: the host reads these two from any plugin before trusting the rest.
  uint32_t abi_version = kAbiVersion;
  const char* toolchain = DATAMUX_TOOLCHAIN;
  // Written by the plugin author.
  const char* name = "";         // lower-case identifier, unique per kind
  const char* version = "";      // the plugin's own version
  const char* description = "";  // one line, shown by `datamux plugins`
  std::vector<OptionSpec> options;
  PluginFactory create;
  // Follows from `create`; the registry refuses a manifest where the two disagree.
  PluginKind kind = create.kind;
};

}  // namespace datamux

#include <boost/dll/alias.hpp>

/// Defines and exports the manifest from a braced, designated-initialiser list of PluginManifest
/// fields (variadic only because the list contains commas).
#define DATAMUX_PLUGIN(...)                                                                  \
  namespace {                                                                                \
  const ::datamux::PluginManifest& datamux_plugin_manifest_() {                              \
    static const ::datamux::PluginManifest manifest = ::datamux::PluginManifest __VA_ARGS__; \
    return manifest;                                                                         \
  }                                                                                          \
  }                                                                                          \
  BOOST_DLL_ALIAS(datamux_plugin_manifest_, datamux_plugin)
