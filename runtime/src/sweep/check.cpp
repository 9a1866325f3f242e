// Checking a sweep's runs up front, and pointing at the sweep file's value that broke one.
#include <datamux/error.hpp>
#include <datamux/registry.hpp>
#include <datamux/runtime/pipeline_config.hpp>
#include <datamux/runtime/sweep/check.hpp>

#include <fmt/format.h>

#include <set>

namespace datamux::runtime::sweep {
namespace {

void check_plugins(const PipelineConfig& c, Registry& reg) {
  const std::pair<PluginKind, const PluginSection*> sections[] = {
      {PluginKind::Mux, &c.mux}, {PluginKind::Backbone, &c.backbone}, {PluginKind::Demux, &c.demux}, {PluginKind::Head, &c.head},
      {PluginKind::Head, &c.retrieval_head}};
  for (auto [kind, s] : sections) {
    if (s->plugin.empty()) continue;
    const PluginInfo& info = reg.find(kind, s->plugin);
    validate_options(info.manifest->options, s->options, fmt::format("[{}] {}", plugin_kind_name(kind), s->plugin));
  }
}

// The setting a message is about: its value quoted in the message ('gausian'), else its key's last part.
std::string locate(const SweepFile& sweep, const SweepRun& run, const std::string& msg) {
  std::vector<std::pair<std::string, Value>> all;
  for (const auto& s : run.swept) all.emplace_back(s.key, s.value);
  for (const auto& s : sweep.set) all.push_back(s);
  for (const auto& [key, v] : all)
    if (msg.find("'" + v.text + "'") != std::string::npos)
      return fmt::format("{}: \"{}\" = {}", v.where, key, v.toml);
  // "[model] instnces: unknown option; did you mean 'instances'?" is about instnces, not instances:
  // a key followed by ':' first, then a key anywhere.
  for (const char* suffix : {":", ""})
    for (const auto& [key, v] : all) {
      std::string last = key.substr(key.rfind('.') + 1) + suffix;
      if (msg.find(last) != std::string::npos) return fmt::format("{}: \"{}\" = {}", v.where, key, v.toml);
    }
  return fmt::format("{}: run '{}'", sweep.base_where, run.name);
}

}  // namespace

void check_runs(const SweepFile& sweep, const std::vector<SweepRun>& runs) {
  Registry reg = Registry::with_default_paths();
  std::set<std::string> paths;
  for (const auto& run : runs) {
    try {
      PipelineConfig c = load_pipeline(sweep.base, run.overrides);
      for (const auto& p : c.plugin_paths)
        if (paths.insert(p).second) reg.add_search_path(p);
      check_plugins(c, reg);
    } catch (const InputError& e) {
      throw InputError(fmt::format("{}: {}", locate(sweep, run, e.what()), e.what()));
    }
  }
}

}  // namespace datamux::runtime::sweep
