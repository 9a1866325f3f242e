// Recipes: reading and checking the [[stage]] list (see recipe.hpp).
#include <datamux/error.hpp>
#include <datamux/options.hpp>
#include <datamux/pipeline/recipe.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include <datamux/pipeline/toml_input.hpp>

namespace datamux::runtime {
namespace fs = std::filesystem;
namespace {

const std::vector<std::string> kTopKeys = {"stage", "output"};
const std::vector<std::string> kStageKeys = {"name", "pipeline", "init_from", "set"};

void refuse_unknown(const toml::table& t, const std::vector<std::string>& known, const std::string& what,
                    const std::string& path) {
  for (auto&& [k, v] : t) {
    const std::string key(k.str());
    if (std::find(known.begin(), known.end(), key) != known.end()) continue;
    const std::string hint = did_you_mean(key, known);
    throw InputError(fmt::format("{}: {}: unknown key '{}'{}; a recipe's keys are: {}", detail::loc(v.source(), path),
                                 what, key, hint.empty() ? "" : fmt::format(" (did you mean '{}'?)", hint),
                                 fmt::format("{}", fmt::join(known, ", "))));
  }
}

std::string required_string(const toml::table& t, const std::string& key, const std::string& where) {
  const toml::node* n = t.get(key);
  if (!n) throw InputError(fmt::format("{}: [[stage]] needs {} = \"...\"", where, key));
  auto s = n->value<std::string>();
  if (!s || s->empty())
    throw InputError(fmt::format("{}: [[stage]] {} must be a non-empty string", detail::loc(n->source(), where), key));
  return *s;
}

bool valid_name(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

RecipeStage read_stage(const toml::table& t, const std::string& path, const std::set<std::string>& earlier) {
  RecipeStage s;
  s.where = detail::loc(t.source(), path);
  refuse_unknown(t, kStageKeys, "[[stage]]", path);
  s.name = required_string(t, "name", s.where);
  if (!valid_name(s.name))
    throw InputError(fmt::format("{}: [[stage]] name \"{}\": use letters, digits, '_' and '-' (it names the stage's "
                                 "run folder)",
                                 s.where, s.name));
  if (earlier.count(s.name)) throw InputError(fmt::format("{}: [[stage]] name \"{}\" is used twice", s.where, s.name));
  const std::string file = required_string(t, "pipeline", s.where);
  const fs::path p = fs::path(file).is_absolute() ? fs::path(file) : fs::path(path).parent_path() / file;
  std::error_code ec;
  if (!fs::is_regular_file(p, ec))
    throw InputError(fmt::format("{}: [[stage]] \"{}\": pipeline \"{}\": {} is not there", s.where, s.name, file,
                                 p.string()));
  s.pipeline = p.string();
  if (const toml::node* n = t.get("init_from")) {
    auto from = n->value<std::string>();
    if (!from || !earlier.count(*from))
      throw InputError(fmt::format("{}: [[stage]] \"{}\": init_from must name an earlier stage{}",
                                   detail::loc(n->source(), path), s.name,
                                   earlier.empty() ? " (this is the first)" : fmt::format(" ({})", fmt::join(earlier, ", "))));
    s.init_from = *from;
  }
  if (const toml::node* n = t.get("set")) {
    const toml::array* a = n->as_array();
    if (!a) throw InputError(fmt::format("{}: [[stage]] set must be an array of \"section.key=value\" strings",
                                         detail::loc(n->source(), path)));
    for (auto&& e : *a) {
      auto v = e.value<std::string>();
      if (!v) throw InputError(fmt::format("{}: [[stage]] set must be an array of \"section.key=value\" strings",
                                           detail::loc(e.source(), path)));
      s.overrides.push_back(*v);
    }
  }
  return s;
}

}  // namespace

bool is_recipe_file(const std::string& path) {
  try {
    const toml::table root = detail::read_toml_file(path, "pipeline");
    return root.contains("stage");
  } catch (const std::exception&) {
    return false;
  }
}

Recipe load_recipe(const std::string& path, const std::vector<std::string>& overrides) {
  const toml::table root = detail::read_toml_file(path, "recipe");
  refuse_unknown(root, kTopKeys, "recipe", path);
  Recipe r;
  r.path = path;
  const toml::array* stages = root["stage"].as_array();
  if (!stages || stages->empty() || !stages->is_array_of_tables())
    throw InputError(fmt::format("{}: a recipe needs one or more [[stage]] tables, each with name and pipeline",
                                 path));
  std::set<std::string> earlier;
  for (auto&& e : *stages) {
    RecipeStage s = read_stage(*e.as_table(), path, earlier);
    s.overrides.insert(s.overrides.end(), overrides.begin(), overrides.end());
    earlier.insert(s.name);
    r.stages.push_back(std::move(s));
  }
  if (const toml::table* out = root["output"].as_table()) {
    refuse_unknown(*out, {"dir"}, "[output]", path);
    if (const toml::node* n = out->get("dir")) {
      auto d = n->value<std::string>();
      if (!d || d->empty())
        throw InputError(fmt::format("{}: [output] dir must be a non-empty string", detail::loc(n->source(), path)));
      r.out_dir = *d;
    }
  }
  return r;
}

}  // namespace datamux::runtime
