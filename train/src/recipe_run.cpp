// Running a recipe's stages (see recipe_run.hpp).
#include <datamux/core/atomic_file.hpp>
#include <datamux/error.hpp>
#include <datamux/train/recipe_run.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <toml++/toml.h>

#include "run_state.hpp"

namespace datamux::runtime {
namespace fs = std::filesystem;
namespace {

// `s` as a TOML string value, quoted and escaped by TOML++ (an override value that is a path).
std::string toml_string(const std::string& s) {
  std::ostringstream out;
  out << toml::value<std::string>(s);
  return out.str();
}

std::vector<std::string> stage_overrides(const RecipeStage& s, const std::string& out) {
  std::vector<std::string> o = s.overrides;
  if (!s.init_from.empty()) {
    o.push_back("train.init_from=" + toml_string((fs::path(out) / s.init_from / "model.safetensors").string()));
    o.push_back("train.init_from_partial=true");
  }
  return o;
}

nlohmann::json read_json(const fs::path& p) {
  std::ifstream f(p);
  if (!f) throw InputError(fmt::format("{}: cannot be read", p.string()));
  try {
    return nlohmann::json::parse(f);
  } catch (const nlohmann::json::exception& e) {
    throw InputError(fmt::format("{}: not valid JSON ({}); remove the stage's folder to run it again", p.string(), e.what()));
  }
}

void say(const RunOptions& o, const std::string& line) {
  if (o.log_level != LogLevel::Quiet) fmt::print("{}\n", line);
}

// Runs one stage, or keeps it when its folder holds a finished run.
RunSummary run_stage(const RecipeStage& s, const PipelineConfig& c, const std::string& dir, const RunOptions& o,
                     std::size_t index, std::size_t count) {
  const std::string state = detail::recorded_run_state(dir);
  RunOptions so = o;
  so.out_dir = dir;
  so.resume.clear();
  if (!o.overwrite && state == "done") {
    say(o, fmt::format("recipe: stage {}/{} '{}' is done ({}): kept (--overwrite runs it again)", index + 1, count,
                       s.name, dir));
    RunSummary kept;  // its figures stay in its results.json, which write_recipe_results reads
    kept.out_dir = dir;
    return kept;
  }
  if (!o.overwrite && (state == "interrupted" || state == "running")) {
    so.out_dir.clear();
    so.resume = dir;
    say(o, fmt::format("recipe: stage {}/{} '{}': resuming the interrupted run in {}", index + 1, count, s.name, dir));
  } else {
    say(o, fmt::format("recipe: stage {}/{} '{}': {} -> {}", index + 1, count, s.name, s.pipeline, dir));
  }
  return run_pipeline(c, so);
}

void write_recipe_results(const Recipe& r, const std::string& out) {
  const RecipeStage& last = r.stages.back();
  nlohmann::json j = read_json(fs::path(out) / last.name / "results.json");
  nlohmann::json stages = nlohmann::json::array();
  double total = 0.0;
  for (std::size_t i = 0; i < r.stages.size(); ++i) {
    const nlohmann::json s = read_json(fs::path(out) / r.stages[i].name / "results.json");
    stages.push_back({{"name", r.stages[i].name},
                      {"pipeline", r.stages[i].pipeline},
                      {"accuracy", s.value("accuracy", 0.0)},
                      {"wall_seconds", s.value("wall_seconds", 0.0)}});
    total += s.value("wall_seconds", 0.0);
  }
  j["recipe"] = {{"path", r.path}, {"stages", stages}, {"wall_seconds", total}, {"model", last.name + "/model.safetensors"}};
  write_file_atomic((fs::path(out) / "results.json").string(), j.dump(2) + "\n");
}

}  // namespace

PipelineConfig last_stage_pipeline(const Recipe& recipe) {
  const RecipeStage& s = recipe.stages.back();
  return load_pipeline(s.pipeline, s.overrides);
}

RunSummary run_recipe(const Recipe& recipe, const RunOptions& options) {
  const std::string out = !options.out_dir.empty() ? options.out_dir
                          : !options.resume.empty() ? options.resume
                                                    : recipe.out_dir;
  if (out.empty())
    throw InputError(fmt::format("{}: the recipe has no [output] dir; give one there or with --out", recipe.path));
  // Every stage's pipeline is read before anything runs or any folder is made.
  std::vector<PipelineConfig> configs;
  for (const RecipeStage& s : recipe.stages) {
    try {
      configs.push_back(load_pipeline(s.pipeline, stage_overrides(s, out)));
    } catch (const InputError& e) {
      throw InputError(fmt::format("{}: stage '{}': {}", s.where, s.name, e.what()));
    }
  }
  std::error_code ec;
  fs::create_directories(out, ec);
  if (ec) throw InputError(fmt::format("recipe output folder {}: {}", out, ec.message()));
  RunSummary last;
  double wall = 0.0;
  for (std::size_t i = 0; i < recipe.stages.size(); ++i) {
    const std::string dir = (fs::path(out) / recipe.stages[i].name).string();
    last = run_stage(recipe.stages[i], configs[i], dir, options, i, recipe.stages.size());
    wall += last.wall_seconds;
    if (last.interrupted_by != 0) {
      say(options, fmt::format("recipe: stopped in stage '{}'; `datamux run {} --resume {}` continues it",
                               recipe.stages[i].name, recipe.path, out));
      return last;
    }
  }
  write_recipe_results(recipe, out);
  std::ifstream src(recipe.path, std::ios::binary);
  write_file_atomic((fs::path(out) / "recipe.toml").string(),
                    std::string(std::istreambuf_iterator<char>(src), std::istreambuf_iterator<char>()));
  last.out_dir = out;
  last.wall_seconds = wall;
  say(options, fmt::format("recipe: {} stages done in {:.0f} s; results in {}/results.json", recipe.stages.size(), wall, out));
  return last;
}

}  // namespace datamux::runtime
