// Task kinds registered like plugins (tasks/<kind>/, DATAMUX_TASK): the table lists the five built-in
// kinds, `datamux plugins list` shows them, and an unknown kind is refused at its key's
// file:line:column with the known kinds and the nearest one.
#include <datamux/error.hpp>
#include <datamux/tasks/task.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "run_test_util.hpp"

namespace datamux {
namespace {

using ::testing::HasSubstr;

TEST(TaskKinds, TheBuiltInKindsAreRegisteredOnceEach) {
  std::vector<std::string> names;
  for (const runtime::TaskKind& k : runtime::task_kinds()) {
    names.push_back(k.name);
    EXPECT_FALSE(k.description.empty()) << k.name;
    EXPECT_NE(k.create, nullptr) << k.name;
  }
  EXPECT_EQ(names, (std::vector<std::string>{"image_classification", "mlm", "retrieval", "text_classification",
                                             "token_tagging"}));
}

TEST(TaskKinds, AnUnknownKindIsRefusedAtItsKeyWithTheNearestKind) {
  const auto dir = testing::scratch_dir("task-kinds");
  const std::string path = (dir / "p.toml").string();
  {
    std::ofstream f(path);
    f << "base = \"" << testing::pipeline_fixture("retrieval_small.toml") << "\"\n\n[task]\nkind = \"retreival\"\n";
  }
  const runtime::PipelineConfig c = runtime::load_pipeline(path);
  try {
    runtime::make_task(c);
    FAIL() << "an unknown task kind was built";
  } catch (const InputError& e) {
    const std::string m = e.what();
    EXPECT_THAT(m, HasSubstr("p.toml:4:"));
    EXPECT_THAT(m, HasSubstr("did you mean 'retrieval'"));
    EXPECT_THAT(m, HasSubstr("token_tagging"));
  }
  // The command line says the same and exits 2 (bad input).
  const auto r = testing::run_cli("validate " + path);
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("did you mean 'retrieval'"));
}

TEST(TaskKinds, PluginsListShowsTheTaskKinds) {
  const auto all = testing::run_cli("plugins list");
  ASSERT_EQ(all.code, 0) << all.output;
  EXPECT_THAT(all.output, HasSubstr("task kinds"));
  EXPECT_THAT(all.output, HasSubstr("token_tagging"));
  const auto only = testing::run_cli("plugins list --kind task --json", false);
  ASSERT_EQ(only.code, 0) << only.output;
  const nlohmann::json j = nlohmann::json::parse(only.output);
  ASSERT_EQ(j.size(), 5u) << only.output;
  for (const auto& e : j) EXPECT_EQ(e["kind"], "task");
  const auto muxes = testing::run_cli("plugins list --kind mux");
  EXPECT_THAT(muxes.output, ::testing::Not(HasSubstr("task kinds")));
}

}  // namespace
}  // namespace datamux
