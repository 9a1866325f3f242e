// Checking a sweep's runs up front, and pointing at the sweep file's value that broke one.
#include <datamux/error.hpp>
#include <datamux/registry.hpp>
#include <datamux/pipeline/pipeline_config.hpp>
#include <datamux/pipeline/recipe.hpp>
#include <datamux/sweep/check.hpp>

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

// The pipelines one run would train: the base with the run's overrides, or every stage of a base recipe.
std::vector<PipelineConfig> run_pipelines(const std::string& base, bool recipe, const std::vector<std::string>& overrides) {
  if (!recipe) return {load_pipeline(base, overrides)};
  std::vector<PipelineConfig> out;
  for (const RecipeStage& s : load_recipe(base, overrides).stages) out.push_back(load_pipeline(s.pipeline, s.overrides));
  return out;
}

}  // namespace

void check_runs(const SweepFile& sweep, const std::vector<SweepRun>& runs) {
  Registry reg = Registry::with_default_paths();
  std::set<std::string> paths;
  const bool recipe = is_recipe_file(sweep.base);
  for (const auto& run : runs) {
    try {
      for (const PipelineConfig& c : run_pipelines(sweep.base, recipe, run.overrides)) {
        for (const auto& p : c.plugin_paths)
          if (paths.insert(p).second) reg.add_search_path(p);
        check_plugins(c, reg);
      }
    } catch (const InputError& e) {
      throw InputError(fmt::format("{}: {}", locate(sweep, run, e.what()), e.what()));
    }
  }
}

}  // namespace datamux::runtime::sweep
