// Pipeline TOML loading: base chains, --set overrides, and every bad-input message.
#include <datamux/runtime/pipeline_config.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

using namespace datamux;
using namespace datamux::runtime;
using ::testing::HasSubstr;

namespace {
std::string fixture(const std::string& name) { return std::string(DATAMUX_TEST_DATA_DIR) + "/pipelines/" + name; }

std::string error_of(const std::string& name, const std::vector<std::string>& overrides = {}) {
  try {
    load_pipeline(fixture(name), overrides);
  } catch (const InputError& e) {
    return e.what();
  }
  return "no error";
}
}  // namespace

TEST(PipelineConfig, LoadsSectionsAndFillsDefaults) {
  PipelineConfig c = load_pipeline(fixture("base.toml"));
  EXPECT_EQ(c.task.get_string("kind"), "retrieval");
  EXPECT_EQ(c.model.get_int("instances"), 2);
  EXPECT_EQ(c.train.get_string("optimizer"), "adamw");  // default from the schema
  EXPECT_EQ(c.mux.plugin, "gaussian");
  EXPECT_EQ(c.backbone.options.get_int("layers"), 1);
  EXPECT_FALSE(c.backbone.options.has("plugin"));
  EXPECT_TRUE(c.head.plugin.empty());
}

TEST(PipelineConfig, BaseChainMergesWithChildWinning) {
  PipelineConfig c = load_pipeline(fixture("child.toml"));
  EXPECT_EQ(c.model.get_int("instances"), 4);
  EXPECT_EQ(c.model.get_int("hidden"), 32);  // from base
  EXPECT_DOUBLE_EQ(c.train.get_float("lr"), 0.005);
  EXPECT_THAT(c.resolved_toml, HasSubstr("instances = 4"));
  EXPECT_THAT(c.resolved_toml, ::testing::Not(HasSubstr("base")));
}

TEST(PipelineConfig, SetOverridesAnyKeyWithTomlTypes) {
  PipelineConfig c = load_pipeline(fixture("base.toml"), {"model.instances=8", "mux.norm=20.0", "output.dir=runs/x"});
  EXPECT_EQ(c.model.get_int("instances"), 8);
  EXPECT_DOUBLE_EQ(c.mux.options.get_float("norm"), 20.0);
  EXPECT_EQ(c.output.get_string("dir"), "runs/x");
}

TEST(PipelineConfig, MalformedTomlNamesFileLineAndColumn) {
  EXPECT_THAT(error_of("malformed.toml"), HasSubstr("malformed.toml:5:"));
  EXPECT_THAT(error_of("malformed.toml"), HasSubstr("malformed TOML"));
}

TEST(PipelineConfig, UnknownSectionSuggestsTheClosest) {
  std::string e = error_of("unknown_section.toml");
  EXPECT_THAT(e, HasSubstr("unknown_section.toml:4"));
  EXPECT_THAT(e, HasSubstr("did you mean 'model'"));
}

TEST(PipelineConfig, UnknownKeySuggestsTheClosest) {
  std::string e = error_of("unknown_key.toml");
  EXPECT_THAT(e, HasSubstr("stpes"));
  EXPECT_THAT(e, HasSubstr("steps"));
  EXPECT_THAT(e, HasSubstr("unknown_key.toml:5"));
}

TEST(PipelineConfig, WrongTypeAndOutOfRangeNameTheKey) {
  EXPECT_THAT(error_of("wrong_type.toml"), HasSubstr("instances"));
  EXPECT_THAT(error_of("out_of_range.toml"), HasSubstr("instances"));
}

TEST(PipelineConfig, PluginSectionWithoutPluginName) {
  EXPECT_THAT(error_of("plugin_missing_name.toml"), HasSubstr("needs plugin = "));
}

TEST(PipelineConfig, BaseLoopIsReported) { EXPECT_THAT(error_of("loop_a.toml"), HasSubstr("twice")); }

TEST(PipelineConfig, MissingFileAndBadOverride) {
  EXPECT_THAT(error_of("does_not_exist.toml"), HasSubstr("no such pipeline file"));
  EXPECT_THAT(error_of("base.toml", {"instances=3"}), HasSubstr("section.key=value"));
  EXPECT_THAT(error_of("base.toml", {"model.instances=-1"}), HasSubstr("instances"));
}
