// `datamux run`, `datamux eval` and `datamux validate`: the pipeline commands.
#include <datamux/train/recipe_run.hpp>
#include <datamux/train/trainer.hpp>
#include <fmt/format.h>

#include <cstdio>
#include <memory>

#include "command.hpp"

namespace datamux::cli {
namespace {

struct PipelineArgs {
  std::string pipeline;
  std::vector<std::string> sets;
  std::string out;
  std::string checkpoint;
  std::string resume;
  bool overwrite = false;
  bool quiet = false;
  std::string log_level = "info";
};

runtime::LogLevel parse_level(const PipelineArgs& a) {
  if (a.quiet || a.log_level == "quiet") return runtime::LogLevel::Quiet;
  return a.log_level == "debug" ? runtime::LogLevel::Debug : runtime::LogLevel::Info;
}

void add_pipeline_args(CLI::App* sub, PipelineArgs& a) {
  sub->add_option("pipeline", a.pipeline, "Pipeline TOML file (see examples/pipelines/)")->required()->check(CLI::ExistingFile);
  sub->add_option("--set", a.sets,
                  "Override a key: --set section.key=value, the value read as TOML; a single word needs no quotes "
                  "(repeatable; see docs/pipelines.md)");
  sub->add_option("--log-level", a.log_level, "quiet, info (progress and report) or debug (also every tensor and timing)")
      ->check(CLI::IsMember({"quiet", "info", "debug"}));
}

// run and eval: the pipeline with its --set overrides, then the runtime's step. A training run that
// diverged is the run's failure, not a crash: it is reported like bad input.
// A recipe (a file of [[stage]]s, pipeline/recipe.hpp): run trains every stage; eval takes the last one.
int run_step(const PipelineArgs& a, runtime::RunSummary (*step)(const runtime::PipelineConfig&, const runtime::RunOptions&)) {
  const bool recipe = runtime::is_recipe_file(a.pipeline);
  const bool run_recipe = recipe && step == runtime::run_pipeline;
  const runtime::Recipe r = recipe ? runtime::load_recipe(a.pipeline, a.sets) : runtime::Recipe{};
  // run_recipe loads every stage's pipeline itself.
  const runtime::PipelineConfig c = run_recipe ? runtime::PipelineConfig{}
                                    : recipe   ? runtime::last_stage_pipeline(r)
                                               : runtime::load_pipeline(a.pipeline, a.sets);
  runtime::RunOptions o;
  o.out_dir = a.out;
  o.checkpoint = a.checkpoint;
  o.resume = a.resume;
  o.overwrite = a.overwrite;
  o.log_level = parse_level(a);
  try {
    const runtime::RunSummary s = run_recipe ? runtime::run_recipe(r, o) : step(c, o);
    if (s.interrupted_by != 0) return 128 + s.interrupted_by;  // as a shell reports a signal: 130, 143
  } catch (const runtime::TrainingError& e) {
    std::fprintf(stderr, "datamux: error: %s\n", e.what());
    return kExitUsage;
  }
  return 0;
}

void setup_run(Cli& cli) {
  auto args = std::make_shared<PipelineArgs>();
  auto* sub = cli.app.add_subcommand("run", "Trains a pipeline (or every stage of a recipe), evaluates it and writes results.json and model.safetensors");
  add_pipeline_args(sub, *args);
  auto* out = sub->add_option("--out", args->out, "Output folder (overrides [output] dir)");
  sub->add_flag("--overwrite", args->overwrite, "Replace a finished run in the output folder (refused without it)");
  sub->add_option("--resume", args->resume,
                  "Continue the interrupted run in this folder from its resume state (same pipeline and --set; see "
                  "[train] checkpoint_every)")
      ->excludes(out);
  sub->add_flag("--quiet", args->quiet, "No output but errors (same as --log-level quiet)");
  cli.run_when(sub, [args] { return run_step(*args, runtime::run_pipeline); });
}

void setup_eval(Cli& cli) {
  auto args = std::make_shared<PipelineArgs>();
  auto* sub = cli.app.add_subcommand("eval", "Evaluates a checkpoint of a pipeline on its held-out split");
  add_pipeline_args(sub, *args);
  sub->add_option("--checkpoint", args->checkpoint, "model.safetensors written by `datamux run`")->required();
  sub->add_option("--out", args->out, "Output folder for results.json (overrides [output] dir)");
  cli.run_when(sub, [args] { return run_step(*args, runtime::eval_pipeline); });
}

void validate_one(const std::string& what, const runtime::PipelineConfig& c) {
  const runtime::BuiltPipeline p = runtime::build_pipeline(c);
  fmt::print("{}: ok\n  task   {}\n  model  N = {}: {} ({} parameters)\n", what, p.task->summary(),
             p.model->context().instances, p.model->summary(), p.model->parameter_count());
  for (const std::string& note : p.notes) fmt::print("  {}\n", note);
}

void setup_validate(Cli& cli) {
  auto args = std::make_shared<PipelineArgs>();
  auto* sub = cli.app.add_subcommand("validate", "Checks a pipeline (TOML, data, plugins and their options) without training");
  add_pipeline_args(sub, *args);
  cli.run_when(sub, [args] {
    if (!runtime::is_recipe_file(args->pipeline)) {
      validate_one(args->pipeline, runtime::load_pipeline(args->pipeline, args->sets));
      return 0;
    }
    // Each stage as it would start, but from its own initialisation: the earlier stage's checkpoint
    // that init_from names does not exist before the recipe runs.
    for (const runtime::RecipeStage& s : runtime::load_recipe(args->pipeline, args->sets).stages) {
      std::vector<std::string> overrides = s.overrides;
      if (!s.init_from.empty()) overrides.push_back("train.init_from=\"\"");  // the recipe sets it when it runs
      validate_one(fmt::format("{} stage '{}' ({})", args->pipeline, s.name, s.pipeline),
                   runtime::load_pipeline(s.pipeline, overrides));
    }
    return 0;
  });
}

}  // namespace

DATAMUX_CLI_COMMAND(10, setup_run)
DATAMUX_CLI_COMMAND(11, setup_eval)
DATAMUX_CLI_COMMAND(12, setup_validate)

}  // namespace datamux::cli
