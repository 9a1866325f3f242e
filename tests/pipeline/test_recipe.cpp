// Recipes (pipeline/recipe.hpp, train/recipe_run.hpp): stages run in order in their own folders, the
// earlier stage's checkpoint feeding the later, --set reaching every stage, finished stages kept on a
// second run, and bad recipes refused at their line before anything runs.
#include <datamux/error.hpp>
#include <datamux/pipeline/recipe.hpp>
#include <datamux/train/recipe_run.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>

#include "run_test_util.hpp"

namespace datamux {
namespace {

namespace fs = std::filesystem;
using testing::pipeline_fixture;
using testing::quiet_run;
using testing::scratch_dir;

nlohmann::json read_json(const fs::path& p) {
  std::ifstream f(p);
  return nlohmann::json::parse(f);
}

std::string read_text(const fs::path& p) {
  std::ifstream f(p);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

std::string error_of(const std::string& fixture) {
  try {
    runtime::load_recipe(pipeline_fixture("recipe/" + fixture));
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST(Recipe, APlainPipelineIsNotARecipe) {
  EXPECT_FALSE(runtime::is_recipe_file(pipeline_fixture("retrieval_small.toml")));
  EXPECT_TRUE(runtime::is_recipe_file(pipeline_fixture("recipe/recipe_small.toml")));
}

TEST(Recipe, StagesResolveTheirFilesAndAppendTheCommandLineOverrides) {
  const runtime::Recipe r = runtime::load_recipe(pipeline_fixture("recipe/recipe_small.toml"), {"model.seed=9"});
  ASSERT_EQ(r.stages.size(), 2u);
  EXPECT_EQ(r.out_dir, "runs/test-recipe-small");
  EXPECT_EQ(fs::canonical(r.stages[0].pipeline), fs::canonical(pipeline_fixture("retrieval_small.toml")));
  EXPECT_EQ(r.stages[1].init_from, "warmup");
  // The stage's own settings first, the command line's last (it wins).
  EXPECT_EQ(r.stages[1].overrides, (std::vector<std::string>{"train.steps=30", "train.lr=1e-3", "model.seed=9"}));
}

TEST(Recipe, InitFromALaterStageIsRefusedAtItsLine) {
  const std::string e = error_of("recipe_bad_init_from.toml");
  EXPECT_NE(e.find("recipe_bad_init_from.toml:5:"), std::string::npos) << e;
  EXPECT_NE(e.find("init_from must name an earlier stage"), std::string::npos) << e;
}

TEST(Recipe, AnUnknownKeyIsRefusedWithASuggestion) {
  const std::string e = error_of("recipe_unknown_key.toml");
  EXPECT_NE(e.find("recipe_unknown_key.toml:4:"), std::string::npos) << e;
  EXPECT_NE(e.find("did you mean 'pipeline'"), std::string::npos) << e;
}

TEST(Recipe, ABrokenLaterStageStopsTheRecipeBeforeAnythingRuns) {
  const fs::path out = scratch_dir("recipe-broken");
  const runtime::Recipe r = runtime::load_recipe(pipeline_fixture("recipe/recipe_bad_last_stage.toml"));
  try {
    runtime::run_recipe(r, quiet_run(out));
    FAIL() << "a recipe whose last stage is broken ran";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("stage 'broken'"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(out / "warmup"));
}

TEST(Recipe, RunsEveryStageFeedsTheNextAndKeepsFinishedStagesOnASecondRun) {
  const fs::path out = scratch_dir("recipe-run");
  const runtime::Recipe r = runtime::load_recipe(pipeline_fixture("recipe/recipe_small.toml"), {"model.threads=1"});
  runtime::run_recipe(r, quiet_run(out));

  const nlohmann::json warm = read_json(out / "warmup" / "results.json");
  const nlohmann::json task = read_json(out / "task" / "results.json");
  EXPECT_EQ(warm["steps"], 40);
  EXPECT_EQ(task["steps"], 30);
  // The later stage started from the earlier one's weights.
  const std::string resolved = read_text(out / "task" / "pipeline.toml");
  EXPECT_NE(resolved.find((out / "warmup" / "model.safetensors").string()), std::string::npos) << resolved;
  EXPECT_NE(resolved.find("init_from_partial = true"), std::string::npos) << resolved;
  // The recipe's results are the last stage's, with every stage listed.
  const nlohmann::json all = read_json(out / "results.json");
  EXPECT_EQ(all["accuracy"], task["accuracy"]);
  ASSERT_EQ(all["recipe"]["stages"].size(), 2u);
  EXPECT_EQ(all["recipe"]["stages"][0]["name"], "warmup");
  EXPECT_EQ(all["recipe"]["stages"][0]["accuracy"], warm["accuracy"]);
  EXPECT_TRUE(fs::exists(out / "recipe.toml"));

  // A second run keeps both finished stages: their checkpoints are not rewritten.
  const auto before = fs::last_write_time(out / "warmup" / "model.safetensors");
  const auto task_before = fs::last_write_time(out / "task" / "model.safetensors");
  runtime::run_recipe(r, quiet_run(out));
  EXPECT_EQ(fs::last_write_time(out / "warmup" / "model.safetensors"), before);
  EXPECT_EQ(fs::last_write_time(out / "task" / "model.safetensors"), task_before);
  fs::remove_all(out);
}

TEST(Recipe, TheCommandLineRunsARecipeAndValidatesEveryStage) {
  const fs::path out = scratch_dir("recipe-cli");
  const std::string recipe = pipeline_fixture("recipe/recipe_small.toml");
  const auto v = testing::run_cli("validate " + recipe);
  EXPECT_EQ(v.code, 0) << v.output;
  EXPECT_NE(v.output.find("stage 'warmup'"), std::string::npos) << v.output;
  EXPECT_NE(v.output.find("stage 'task'"), std::string::npos) << v.output;
  const auto r = testing::run_cli("run " + recipe + " --set train.steps=12 --set model.threads=1 --out " + out.string());
  EXPECT_EQ(r.code, 0) << r.output;
  // --set reaches every stage, after the stages' own settings.
  EXPECT_EQ(read_json(out / "warmup" / "results.json")["steps"], 12);
  EXPECT_EQ(read_json(out / "task" / "results.json")["steps"], 12);
  EXPECT_TRUE(fs::exists(out / "results.json"));
  const auto bad = testing::run_cli("run " + pipeline_fixture("recipe/recipe_unknown_key.toml"));
  EXPECT_EQ(bad.code, 2) << bad.output;
  fs::remove_all(out);
}

}  // namespace
}  // namespace datamux
