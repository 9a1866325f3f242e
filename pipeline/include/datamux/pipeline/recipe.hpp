// datamux/pipeline/recipe.hpp - a recipe: a pipeline file that chains stages (e.g. the retrieval warm-up,
// then the task), each stage a pipeline file of its own, run in order by one `datamux run`.
//
//   [[stage]]
//   name = "warmup"                     # the stage's run folder: <output dir>/warmup
//   pipeline = "spam_x10/warmup.toml"   # relative to the recipe file
//   [[stage]]
//   name = "task"
//   pipeline = "spam_x10/task.toml"
//   init_from = "warmup"                # start from that stage's model.safetensors (init_from_partial)
//   set = ["train.steps=2000"]          # this stage's own overrides
//   [output]
//   dir = "runs/spam_x10"
//
// The command line's --set applies to every stage, after the stage's own `set` (so it wins). Parsing
// lives here, below the trainer, so that `datamux validate` and sweeps check a recipe as they check a
// pipeline; running it is train/recipe_run.hpp.
#pragma once

#include <string>
#include <vector>

namespace datamux::runtime {

struct RecipeStage {
  std::string name;                    // [A-Za-z0-9_-]+, unique in the recipe
  std::string pipeline;                // the stage's pipeline file, resolved against the recipe's folder
  std::vector<std::string> overrides;  // the stage's `set`, then the command line's --set
  std::string init_from;               // an earlier stage's name, or empty
  std::string where;                   // "recipe.toml:3:1" of its [[stage]], for messages
};

struct Recipe {
  std::string path;
  std::string out_dir;  // [output] dir ("" when absent)
  std::vector<RecipeStage> stages;
};

/// True when `path` is a TOML file with a top-level [[stage]] array (a recipe, not a plain pipeline).
/// False for anything it cannot read: load_pipeline then reports the problem.
bool is_recipe_file(const std::string& path);

/// Reads and checks a recipe: known keys only (with "did you mean"), at least one stage, names unique,
/// every pipeline file present, init_from naming an earlier stage, `set` an array of "section.key=value"
/// strings. `overrides` (the command line's --set) are appended to every stage's. Throws InputError with
/// file:line:column. The stages' pipelines themselves are loaded by the caller (load_pipeline).
Recipe load_recipe(const std::string& path, const std::vector<std::string>& overrides = {});

}  // namespace datamux::runtime
