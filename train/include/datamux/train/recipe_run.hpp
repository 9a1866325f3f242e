// datamux/train/recipe_run.hpp - `datamux run RECIPE`: every stage of a recipe (pipeline/recipe.hpp) in
// order, each in its own run folder inside the recipe's, each stage's checkpoint feeding the next.
#pragma once

#include <datamux/pipeline/recipe.hpp>
#include <datamux/train/trainer.hpp>

namespace datamux::runtime {

/// Loads every stage's pipeline first (a mistake in the last stage stops the recipe before the first
/// trains), then runs them in order in <out>/<stage name>, where <out> is options.out_dir or the recipe's
/// [output] dir. A stage whose folder holds a finished run is kept and reported as done, so a recipe
/// that stopped picks up where it stopped; an interrupted stage is resumed from its resume state; with
/// options.overwrite every stage runs again. A stage with init_from starts from that stage's
/// model.safetensors (train.init_from, init_from_partial = true). Writes <out>/results.json: the last
/// stage's results with a "recipe" entry (every stage's folder, accuracy and wall time), and a copy of the
/// recipe file as <out>/recipe.toml.
/// Returns the last stage's summary (wall_seconds: the stages run now, together).
RunSummary run_recipe(const Recipe& recipe, const RunOptions& options);

/// The last stage's pipeline, loaded with its overrides (for `datamux eval` and `validate` of a recipe).
/// init_from of the stage is left to the caller: eval loads a checkpoint anyway.
PipelineConfig last_stage_pipeline(const Recipe& recipe);

}  // namespace datamux::runtime
