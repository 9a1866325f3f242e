// Opening one plugin library and checking its manifest, one message per failure, in the order a
// reader would diagnose them: can it load, is it a datamux plugin, was it built for this SDK and
// toolchain, is its manifest well formed.
#include "plugin_library.hpp"

#include <dlfcn.h>
#include <fmt/format.h>

#include <algorithm>
#include <boost/dll/library_info.hpp>
#include <boost/dll/shared_library.hpp>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <set>

namespace datamux::detail {
namespace {

namespace fs = std::filesystem;

// The host reads abi_version and toolchain before anything else, from plugins built against any SDK:
// their offsets are frozen. Everything after them is trusted only once both match this host (C++
// objects cross the boundary, so the toolchain string is the layout guarantee, not a struct size).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Winvalid-offsetof"
static_assert(offsetof(PluginManifest, abi_version) == 0 && offsetof(PluginManifest, toolchain) == sizeof(void*),
              "PluginManifest's leading abi_version and toolchain must never move");
#pragma GCC diagnostic pop

bool valid_kind(PluginKind k) { return static_cast<unsigned>(k) <= static_cast<unsigned>(PluginKind::Head); }

bool valid_identifier(const char* s) {
  if (!s || !*s || !(*s >= 'a' && *s <= 'z')) return false;
  std::size_t n = 0;
  for (const char* p = s; *p; ++p, ++n)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_')) return false;
  return n <= 64;
}

bool same_type(const OptionSpec& s) {
  switch (s.type) {
    case OptionType::Bool:
      return std::holds_alternative<bool>(s.default_value);
    case OptionType::Int:
      return std::holds_alternative<int64_t>(s.default_value);
    case OptionType::Float:
      return std::holds_alternative<double>(s.default_value) || std::holds_alternative<int64_t>(s.default_value);
    case OptionType::String:
      return std::holds_alternative<std::string>(s.default_value);
    case OptionType::IntList:
      return std::holds_alternative<IntList>(s.default_value);
  }
  return false;
}

// A schema a user could never satisfy is the plugin author's bug: report it at load, not at use.
void check_schema(const PluginManifest& m, const std::string& who) {
  std::set<std::string> seen;
  Options defaults;
  for (const OptionSpec& s : m.options) {
    if (!valid_identifier(s.key.c_str()))
      throw InputError(
          fmt::format("{} declares an option named '{}': keys are lower-case identifiers (a-z, 0-9, _)", who, s.key));
    if (!seen.insert(s.key).second) throw InputError(fmt::format("{} declares option '{}' twice", who, s.key));
    if (static_cast<unsigned>(s.type) > static_cast<unsigned>(OptionType::IntList))
      throw InputError(
          fmt::format("{}: option '{}' has an unknown type ({})", who, s.key, static_cast<unsigned>(s.type)));
    if (!same_type(s))
      throw InputError(fmt::format("{}: option '{}' is declared {} but its default is {}", who, s.key,
                                   option_type_name(s.type), option_value_str(s.default_value)));
    if (s.min && s.max && *s.min > *s.max)
      throw InputError(fmt::format("{}: option '{}' has an empty range {}", who, s.key, option_range_str(s)));
    defaults.set(s.key, s.default_value);
  }
  try {
    validate_options(m.options, defaults, "default of");
  } catch (const InputError& e) {
    throw InputError(fmt::format("{} has a default that fails its own schema: {}", who, e.what()));
  }
}

void check_manifest(const PluginManifest& m, const std::string& path) {
  if (m.abi_version != kAbiVersion)
    throw InputError(fmt::format(
        "plugin library '{}' was built for datamux SDK ABI version {}, but this datamux ({}) uses ABI version {}: "
        "rebuild the plugin against this SDK",
        path, m.abi_version, DATAMUX_VERSION_STRING, kAbiVersion));
  const char* toolchain = m.toolchain ? m.toolchain : "(none)";
  if (std::strcmp(toolchain, DATAMUX_TOOLCHAIN) != 0)
    throw InputError(fmt::format(
        "plugin library '{}' was built with toolchain '{}', but this datamux was built with '{}': C++ objects cross "
        "the plugin boundary, so build the plugin with the same compiler, standard library and -std",
        path, toolchain, DATAMUX_TOOLCHAIN));
  if (!valid_kind(m.kind))
    throw InputError(
        fmt::format("plugin library '{}' declares an unknown kind ({}); kinds are mux, backbone, demux, head", path,
                    static_cast<unsigned>(m.kind)));
  if (!valid_identifier(m.name))
    throw InputError(
        fmt::format("plugin library '{}' declares the name '{}': names are lower-case identifiers "
                    "(a-z, 0-9, _; at most 64 characters)",
                    path, m.name ? m.name : "(null)"));
  const std::string who = fmt::format("{} plugin '{}' ({})", plugin_kind_name(m.kind), m.name, path);
  if (!m.version || !m.description) throw InputError(who + " has a null version or description");
  if (!m.create.fn) throw InputError(who + " has no factory (create is null): set .create = datamux::factory<T>");
  if (m.create.kind != m.kind)
    throw InputError(
        fmt::format("{} declares kind '{}' but its factory builds a {}: drop .kind, it follows from "
                    "datamux::factory<T>",
                    who, plugin_kind_name(m.kind),
                    valid_kind(m.create.kind) ? plugin_kind_name(m.create.kind) : "component of unknown kind"));
  check_schema(m, who);
}

}  // namespace

bool is_plugin_file_name(const std::string& file_name) {
  constexpr std::string_view prefix = "libdatamux-", suffix = ".so";
  return file_name.size() > prefix.size() + suffix.size() && file_name.starts_with(prefix) &&
         file_name.ends_with(suffix);
}

OpenedPlugin open_plugin(const std::string& path) {
  std::error_code fec;
  if (!fs::exists(path, fec)) throw InputError(fmt::format("plugin library '{}' does not exist", path));
  if (fs::is_directory(path, fec))
    throw InputError(fmt::format(
        "plugin library '{}' is a folder; give a library file, or add the folder to the search path", path));

  auto lib = std::make_shared<boost::dll::shared_library>();
  boost::dll::fs::error_code ec;
  dlerror();  // clear any stale message so the one below is ours
  lib->load(path, ec, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
  if (ec || !lib->is_loaded()) {
    const char* why = dlerror();
    throw InputError(fmt::format("cannot load plugin library '{}': {}", path, why ? why : ec.message()));
  }
  if (!lib->has("datamux_plugin"))
    throw InputError(fmt::format(
        "'{}' is not a datamux plugin: it does not export the symbol 'datamux_plugin' (define one with DATAMUX_PLUGIN)",
        path));
  // The symbol must be a Boost.DLL alias (a pointer to the entry function), not a function or object of
  // that name: calling anything else would crash instead of failing.
  try {
    boost::dll::library_info info(path);
    const std::vector<std::string> aliases = info.symbols("boostdll");
    if (std::find(aliases.begin(), aliases.end(), "datamux_plugin") == aliases.end())
      throw InputError(fmt::format(
          "'{}' exports 'datamux_plugin' but not through DATAMUX_PLUGIN (a BOOST_DLL_ALIAS): refusing to call it",
          path));
  } catch (const InputError&) {
    throw;
  } catch (const std::exception& e) {
    throw InputError(fmt::format("cannot read the symbol table of plugin library '{}': {}", path, e.what()));
  }

  const PluginManifest* manifest = nullptr;
  try {
    auto& entry = lib->get_alias<const PluginManifest&()>("datamux_plugin");
    manifest = &entry();
  } catch (const std::exception& e) {
    throw InputError(fmt::format("plugin library '{}': its datamux_plugin() threw: {}", path, e.what()));
  } catch (...) {
    throw InputError(fmt::format("plugin library '{}': its datamux_plugin() threw a non-standard exception", path));
  }
  check_manifest(*manifest, path);
  return OpenedPlugin{path, lib, manifest};
}

}  // namespace datamux::detail
