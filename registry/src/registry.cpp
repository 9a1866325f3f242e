// The Registry: a search path scanned lazily, the plugins found on it by kind and name, and creation
// of components whose shared_ptr keeps their library loaded.
#include <fmt/format.h>

#include <algorithm>
#include <datamux/registry.hpp>
#include <filesystem>
#include <map>
#include <mutex>

#include "plugin_library.hpp"

namespace datamux {
namespace {

namespace fs = std::filesystem;
using Key = std::pair<PluginKind, std::string>;

std::string canonical_path(const std::string& path) {
  std::error_code ec;
  fs::path p = fs::weakly_canonical(fs::absolute(path, ec), ec);
  return ec ? path : p.string();
}

bool implements(PluginKind kind, Module* m) {
  switch (kind) {
    case PluginKind::Mux:
      return dynamic_cast<Multiplexer*>(m) != nullptr;
    case PluginKind::Backbone:
      return dynamic_cast<Backbone*>(m) != nullptr;
    case PluginKind::Demux:
      return dynamic_cast<Demultiplexer*>(m) != nullptr;
    case PluginKind::Head:
      return dynamic_cast<Head*>(m) != nullptr;
  }
  return false;
}

const char* interface_name(PluginKind kind) {
  switch (kind) {
    case PluginKind::Mux:
      return "datamux::Multiplexer";
    case PluginKind::Backbone:
      return "datamux::Backbone";
    case PluginKind::Demux:
      return "datamux::Demultiplexer";
    case PluginKind::Head:
      return "datamux::Head";
  }
  return "?";
}

}  // namespace

std::optional<PluginKind> parse_plugin_kind(const std::string& name) {
  for (PluginKind k : {PluginKind::Mux, PluginKind::Backbone, PluginKind::Demux, PluginKind::Head})
    if (name == plugin_kind_name(k)) return k;
  return std::nullopt;
}

struct Registry::Impl {
  mutable std::mutex mu;
  std::vector<std::string> paths;
  std::size_t scanned = 0;                           // paths[0, scanned) have been scanned
  std::vector<std::unique_ptr<PluginInfo>> plugins;  // stable addresses
  std::map<std::string, PluginInfo*> by_file;        // canonical path -> plugin
  std::map<Key, PluginInfo*> by_name;
  std::map<Key, std::string> duplicates;  // kind+name provided twice -> the message naming both files
  std::vector<PluginProblem> problems;

  // Adds an opened library; throws InputError for a duplicate kind+name. A duplicate found by a scan
  // also poisons the name, so that asking for it reports both files instead of picking one.
  const PluginInfo& add(detail::OpenedPlugin opened, bool scanning) {
    const PluginManifest& m = *opened.manifest;
    Key key{m.kind, m.name};
    if (auto it = by_name.find(key); it != by_name.end()) {
      std::string msg = fmt::format(
          "two plugin libraries provide the {} plugin '{}': '{}' and '{}'; remove one of them "
          "from the search path",
          plugin_kind_name(m.kind), m.name, it->second->path, opened.path);
      if (scanning) duplicates.emplace(key, msg);
      throw InputError(msg);
    }
    auto info = std::make_unique<PluginInfo>(PluginInfo{opened.path, opened.manifest, std::move(opened.library)});
    PluginInfo* p = info.get();
    plugins.push_back(std::move(info));
    by_file[p->path] = p;
    by_name[key] = p;
    return *p;
  }

  const PluginInfo& load_file(const std::string& path, bool scanning) {
    const std::string canon = canonical_path(path);
    if (auto it = by_file.find(canon); it != by_file.end()) return *it->second;
    return add(detail::open_plugin(canon), scanning);
  }

  void try_load(const std::string& path) {
    try {
      load_file(path, true);
    } catch (const InputError& e) {
      problems.push_back({path, e.what()});
    }
  }

  void scan_entry(const std::string& entry) {
    std::error_code ec;
    if (fs::is_regular_file(entry, ec)) return try_load(entry);
    if (!fs::is_directory(entry, ec)) {
      problems.push_back({entry, fmt::format("plugin path '{}' is neither a folder nor a library file", entry)});
      return;
    }
    std::vector<std::string> files;
    for (const auto& f : fs::directory_iterator(entry, ec))
      if (detail::is_plugin_file_name(f.path().filename().string())) files.push_back(f.path().string());
    std::sort(files.begin(), files.end());  // deterministic: which file a duplicate message names first
    for (const auto& f : files) try_load(f);
  }

  void scan_pending() {
    while (scanned < paths.size()) scan_entry(paths[scanned++]);
  }

  std::string searched() const {
    if (paths.empty()) return "the search path is empty: set DATAMUX_PLUGIN_PATH or add plugin_paths";
    std::string s;
    for (const auto& p : paths) s += (s.empty() ? "" : ", ") + p;
    return "searched: " + s;
  }

  const PluginInfo& find(PluginKind kind, const std::string& name) {
    scan_pending();
    const Key key{kind, name};
    if (auto d = duplicates.find(key); d != duplicates.end()) throw InputError(d->second);
    if (auto it = by_name.find(key); it != by_name.end()) return *it->second;

    std::vector<std::string> same_kind;
    std::string other_kinds;
    for (const auto& [k, p] : by_name) {
      if (k.first == kind) same_kind.push_back(k.second);
      if (k.first != kind && k.second == name)
        other_kinds += fmt::format(" (there is a {} named '{}')", plugin_kind_name(k.first), name);
    }
    std::string msg = fmt::format("no {} plugin named '{}'", plugin_kind_name(kind), clip_for_message(name));
    if (std::string hint = did_you_mean(name, same_kind); !hint.empty())
      msg += fmt::format("; did you mean '{}'?", hint);
    msg += other_kinds;
    msg += same_kind.empty() ? fmt::format(" (no {} plugins found", plugin_kind_name(kind))
                             : fmt::format(" (available: {}", fmt::join(same_kind, ", "));
    msg += "; " + searched() + ")";
    for (const auto& pr : problems) msg += "\n  refused: " + pr.message;
    throw InputError(msg);
  }
};

Registry Registry::with_default_paths() {
  Registry r;
  for (const auto& d : detail::builtin_plugin_dirs()) r.add_search_path(d);
  for (const auto& d : detail::env_plugin_paths()) r.add_search_path(d);
  return r;
}

std::vector<std::string> Registry::builtin_plugin_dirs() { return detail::builtin_plugin_dirs(); }

Registry::Registry() : impl_(std::make_unique<Impl>()) {}
Registry::~Registry() = default;
Registry::Registry(Registry&&) noexcept = default;
Registry& Registry::operator=(Registry&&) noexcept = default;

void Registry::add_search_path(const std::string& path) {
  std::lock_guard lock(impl_->mu);
  for (const auto& p : impl_->paths)
    if (p == path) return;
  impl_->paths.push_back(path);
}

std::vector<std::string> Registry::search_paths() const {
  std::lock_guard lock(impl_->mu);
  return impl_->paths;
}

const PluginInfo& Registry::load(const std::string& library_path) {
  std::lock_guard lock(impl_->mu);
  return impl_->load_file(library_path, false);
}

std::vector<const PluginInfo*> Registry::list() {
  std::lock_guard lock(impl_->mu);
  impl_->scan_pending();
  std::vector<const PluginInfo*> out;
  for (const auto& [key, p] : impl_->by_name) out.push_back(p);  // map order: kind, then name
  return out;
}

std::vector<PluginProblem> Registry::problems() {
  std::lock_guard lock(impl_->mu);
  impl_->scan_pending();
  return impl_->problems;
}

const PluginInfo& Registry::find(PluginKind kind, const std::string& name) {
  std::lock_guard lock(impl_->mu);
  return impl_->find(kind, name);
}

std::vector<const PluginInfo*> Registry::find_any_kind(const std::string& name) {
  std::lock_guard lock(impl_->mu);
  impl_->scan_pending();
  std::vector<const PluginInfo*> out;
  for (const auto& [key, p] : impl_->by_name)
    if (key.second == name) out.push_back(p);
  return out;
}

std::shared_ptr<Module> Registry::create_module(PluginKind kind, const std::string& name, const Options& options,
                                                const BuildContext& ctx, const std::string& where) {
  const PluginManifest* m = nullptr;
  std::shared_ptr<void> library;
  std::string path;
  {
    std::lock_guard lock(impl_->mu);
    const PluginInfo& info = impl_->find(kind, name);
    m = info.manifest;
    library = info.library;
    path = info.path;
  }
  const Options valid = validate_options(m->options, options, where);
  const std::string who = fmt::format("{} plugin '{}' ({})", plugin_kind_name(kind), name, path);

  // The factory runs plugin code: nothing it throws goes further than this, and the message is copied
  // out while the library is still held.
  BuildContext built = ctx;
  Rng own;
  if (const OptionValue* seed = valid.find("seed");
      seed && std::holds_alternative<int64_t>(*seed) && std::get<int64_t>(*seed) != 0) {
    built.seed = static_cast<uint64_t>(std::get<int64_t>(*seed));
    own = Rng(built.seed);
    built.rng = &own;
  } else if (!built.rng) {
    own = Rng(built.seed);
    built.rng = &own;
  }

  std::unique_ptr<Module> made;
  try {
    made = m->create.fn(valid, built);
  } catch (const InputError& e) {
    throw InputError(fmt::format("{}: {} cannot be built: {}", where, who, e.what()));
  } catch (const std::exception& e) {
    throw InputError(fmt::format("{}: {} failed while building: {}", where, who, e.what()));
  } catch (...) {
    throw InputError(fmt::format("{}: {} failed while building (a non-standard exception)", where, who));
  }
  if (!made) throw InputError(fmt::format("{}: {} returned no object", where, who));
  if (!implements(kind, made.get()))
    throw InputError(fmt::format("{}: {} created an object that is not a {}", where, who, interface_name(kind)));

  // The deleter lives in this library, not the plugin; it destroys the object, then drops its hold on
  // the plugin library, which unloads once nothing else holds it.
  return std::shared_ptr<Module>(made.release(), [library = std::move(library)](Module* p) { delete p; });
}

}  // namespace datamux
