// `datamux plugins list|info|try`: what the registry finds on the plugin search path, each plugin's
// manifest and options schema, and a quick build-and-run of one plugin.
#include <fmt/format.h>

#include <cstdio>
#include <datamux/registry.hpp>
#include <datamux/tasks/task.hpp>

#include "command.hpp"
#include "plugin_report.hpp"
#include "plugin_try.hpp"

namespace datamux::cli {
namespace {

struct SearchOptions {
  std::vector<std::string> paths;
  std::string kind;
};

void add_search_options(CLI::App* sub, SearchOptions& o, bool kind_option, bool task_kind = false) {
  sub->add_option("--plugin-path", o.paths,
                  "Also search this folder or library file (repeatable; after the "
                  "built-in folder and DATAMUX_PLUGIN_PATH)");
  if (kind_option)
    sub->add_option("--kind", o.kind, task_kind ? "Only plugins (or task kinds) of this kind" : "Only plugins of this kind")
        ->check(task_kind ? CLI::IsMember({"mux", "backbone", "demux", "head", "task"})
                          : CLI::IsMember({"mux", "backbone", "demux", "head"}));
}

Registry make_registry(const SearchOptions& o) {
  Registry reg = Registry::with_default_paths();
  for (const auto& p : o.paths) reg.add_search_path(p);
  return reg;
}

void print_problems(Registry& reg) {
  for (const auto& p : reg.problems()) std::fprintf(stderr, "datamux: warning: %s\n", p.message.c_str());
}

std::optional<PluginKind> kind_of(const SearchOptions& o) {
  return o.kind.empty() ? std::nullopt : parse_plugin_kind(o.kind);
}

// The plugins called `name` (of `kind` when given); InputError with a suggestion when there is none.
std::vector<const PluginInfo*> lookup(Registry& reg, const std::string& name, std::optional<PluginKind> kind) {
  if (kind) return {&reg.find(*kind, name)};
  std::vector<const PluginInfo*> found = reg.find_any_kind(name);
  if (!found.empty()) return found;
  std::vector<std::string> names;
  for (const PluginInfo* p : reg.list()) names.push_back(p->manifest->name);
  std::string msg = fmt::format("no plugin named '{}'", name);
  if (std::string hint = did_you_mean(name, names); !hint.empty()) msg += fmt::format("; did you mean '{}'?", hint);
  msg += " (see `datamux plugins list`)";
  for (const auto& p : reg.problems()) msg += "\n  refused: " + p.message;
  throw InputError(msg);
}

// The task kinds built into libdatamux_tasks (tasks/<kind>/, DATAMUX_TASK), listed with the plugins:
// `[task] kind` picks one as `[mux] plugin` picks a multiplexer.
std::string task_table() {
  std::string out = "\ntask kinds (built in: tasks/<kind>/; [task] kind = \"name\"):\n";
  for (const runtime::TaskKind& k : runtime::task_kinds()) out += fmt::format("  {:<22} {}\n", k.name, k.description);
  return out;
}

nlohmann::json task_json(const runtime::TaskKind& k) {
  return {{"kind", "task"}, {"name", k.name}, {"description", k.description}, {"library", "built in (libdatamux_tasks)"}};
}

int run_list(const SearchOptions& o, bool json) {
  const bool tasks_only = o.kind == "task";
  SearchOptions plugins_only = o;
  if (tasks_only) plugins_only.kind.clear();
  Registry reg = make_registry(plugins_only);
  std::vector<const PluginInfo*> shown;
  if (!tasks_only)
    for (const PluginInfo* p : reg.list())
      if (!kind_of(o) || p->manifest->kind == *kind_of(o)) shown.push_back(p);
  const bool with_tasks = o.kind.empty() || tasks_only;
  if (json) {
    nlohmann::json j = nlohmann::json::array();
    for (const PluginInfo* p : shown) j.push_back(plugin_json(*p, false));
    if (with_tasks)
      for (const runtime::TaskKind& k : runtime::task_kinds()) j.push_back(task_json(k));
    std::printf("%s\n", j.dump(2).c_str());
  } else if (shown.empty() && !tasks_only) {
    std::string paths;
    for (const auto& p : reg.search_paths()) paths += "\n  " + p;
    std::printf("no plugins found; searched:%s\n",
                paths.empty() ? " (nothing: set DATAMUX_PLUGIN_PATH)" : paths.c_str());
  } else {
    if (!shown.empty()) std::printf("%s", plugin_table(shown).c_str());
    if (with_tasks) std::printf("%s", task_table().c_str());
  }
  print_problems(reg);
  return 0;
}

int run_info(const SearchOptions& o, const std::string& name, bool json) {
  Registry reg = make_registry(o);
  std::vector<const PluginInfo*> found = lookup(reg, name, kind_of(o));
  if (json) {
    nlohmann::json j = nlohmann::json::array();
    for (const PluginInfo* p : found) j.push_back(plugin_json(*p, true));
    std::printf("%s\n", (found.size() == 1 ? j[0] : j).dump(2).c_str());
    return 0;
  }
  for (size_t i = 0; i < found.size(); ++i) std::printf("%s%s", i ? "\n" : "", plugin_details(*found[i]).c_str());
  return 0;
}

int run_try(const SearchOptions& o, const std::string& name, const TrySettings& settings) {
  Registry reg = make_registry(o);
  std::vector<const PluginInfo*> found = lookup(reg, name, kind_of(o));
  if (found.size() > 1) {
    std::string kinds;
    for (const PluginInfo* p : found)
      kinds += (kinds.empty() ? "" : ", ") + std::string(plugin_kind_name(p->manifest->kind));
    throw InputError(fmt::format("there are several plugins named '{}' ({}): choose one with --kind", name, kinds));
  }
  TryReport report = try_plugin(reg, found[0]->manifest->kind, name, settings);
  std::fputs(report.text.c_str(), report.ok ? stdout : stderr);
  return report.ok ? 0 : kExitFailure;
}

void setup_plugins(Cli& cli) {
  CLI::App* plugins = cli.app.add_subcommand("plugins", "List, describe and try the plugins on the search path");
  plugins->require_subcommand(1);
  plugins->footer(
      "Search path: the built-in folder (lib/datamux/plugins next to the executable), then DATAMUX_PLUGIN_PATH "
      "(colon-separated folders or library files), then --plugin-path.\n");

  auto list_opts = std::make_shared<SearchOptions>();
  auto list_json = std::make_shared<bool>(false);
  CLI::App* list = plugins->add_subcommand("list", "One line per plugin (kind, name, version, library, description), then the task kinds");
  add_search_options(list, *list_opts, true, true);
  list->add_flag("--json", *list_json, "Print JSON instead of a table");
  cli.run_when(list, [=] { return run_list(*list_opts, *list_json); });

  auto info_opts = std::make_shared<SearchOptions>();
  auto info_name = std::make_shared<std::string>();
  auto info_json = std::make_shared<bool>(false);
  CLI::App* info = plugins->add_subcommand("info",
                                           "A plugin's manifest and every option: type, default, range or "
                                           "choices, doc");
  info->add_option("name", *info_name, "Plugin name (all kinds with that name are shown unless --kind)")->required();
  add_search_options(info, *info_opts, true);
  info->add_flag("--json", *info_json, "Print JSON");
  cli.run_when(info, [=] { return run_info(*info_opts, *info_name, *info_json); });

  auto try_opts = std::make_shared<SearchOptions>();
  auto try_name = std::make_shared<std::string>();
  auto st = std::make_shared<TrySettings>();
  CLI::App* tr = plugins->add_subcommand(
      "try", "Build a plugin through the registry, run forward and backward on random data, check output shapes");
  tr->add_option("name", *try_name, "Plugin name")->required();
  add_search_options(tr, *try_opts, true);
  tr->add_option("--set", st->sets, "Plugin option as key=value, the value read as TOML; a single word needs no quotes (repeatable), e.g. "
                  "--set norm=20 --set reduce=sum");
  tr->add_option("--input", st->input, "Input kind the plugin is built for")
      ->capture_default_str()
      ->check(CLI::IsMember({"sequence", "vector", "image"}));
  tr->add_option("--level", st->level, "Heads on sequence input: one target per token or per instance row")
      ->capture_default_str()
      ->check(CLI::IsMember({"token", "sentence"}));
  tr->add_option("-N,--instances", st->instances, "N: inputs multiplexed together")->capture_default_str();
  tr->add_option("-B,--batch", st->batch, "Multiplexed rows")->capture_default_str();
  tr->add_option("-L,--seq-len", st->seq_len, "Tokens per instance (sequence input)")->capture_default_str();
  tr->add_option("--hidden", st->hidden, "Model width (also the sequence embedding size)")->capture_default_str();
  tr->add_option("--vocab", st->vocab, "Vocabulary size")->capture_default_str();
  tr->add_option("--classes", st->classes, "Task classes")->capture_default_str();
  tr->add_option("--channels", st->channels, "Image channels")->capture_default_str();
  tr->add_option("--height", st->height, "Image height")->capture_default_str();
  tr->add_option("--width", st->width, "Image width")->capture_default_str();
  tr->add_option("--seed", st->seed, "Seed for initialisation and data")->capture_default_str();
  cli.run_when(tr, [=] { return run_try(*try_opts, *try_name, *st); });
}

}  // namespace

DATAMUX_CLI_COMMAND(90, setup_plugins)

}  // namespace datamux::cli
