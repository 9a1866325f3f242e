// Pipeline TOML loading: base chains, --set overrides, and every bad-input message.
#include <datamux/pipeline/pipeline_config.hpp>
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

TEST(PipelineConfig, SetValuesAreTomlWithTypesArraysStringsAndDottedKeys) {
  PipelineConfig c = load_pipeline(fixture("base.toml"),
                                   {"mux.norm=20", "mux.scale=2.5", "mux.trainable=true", "mux.sizes=[1, 2, 3]",
                                    "output.dir=\"runs/with space\"", "task.kind='retrieval'",
                                    "backbone={plugin=\"mlp\", layers=3}"});
  // Plugin sections keep the TOML type as given (the plugin's schema converts later).
  EXPECT_TRUE(std::holds_alternative<int64_t>(*c.mux.options.find("norm")));
  EXPECT_TRUE(std::holds_alternative<double>(*c.mux.options.find("scale")));
  EXPECT_TRUE(c.mux.options.get_bool("trainable"));
  EXPECT_EQ(c.mux.options.get_int_list("sizes"), (IntList{1, 2, 3}));
  EXPECT_EQ(c.output.get_string("dir"), "runs/with space");
  EXPECT_EQ(c.backbone.plugin, "mlp");
  EXPECT_EQ(c.backbone.options.get_int("layers"), 3);
  EXPECT_EQ(c.mux.origin.at("norm"), "--set mux.norm=20");
}

TEST(PipelineConfig, SetSingleWordIsAStringButOtherNonTomlIsAnError) {
  PipelineConfig c = load_pipeline(fixture("base.toml"), {"mux.plugin=random_ortho", "output.dir=runs/n4-s1"});
  EXPECT_EQ(c.mux.plugin, "random_ortho");
  EXPECT_EQ(c.output.get_string("dir"), "runs/n4-s1");
  for (const char* bad : {"train.steps=3x", "output.dir=my runs", "model.instances=[1,", "mux.norm=1.2.3e"}) {
    SCOPED_TRACE(bad);
    const std::string e = error_of("base.toml", {bad});
    EXPECT_THAT(e, HasSubstr(std::string("--set ") + bad + ": not a TOML key = value"));
  }
  // A word TOML reads (true, inf) keeps its TOML type: a string option then reports the type.
  EXPECT_THAT(error_of("base.toml", {"task.kind=true"}),
              HasSubstr("--set task.kind=true: [task] kind: expects a string, got a bool"));
}

TEST(PipelineConfig, SetThatMatchesNothingIsAnError) {
  EXPECT_THAT(error_of("base.toml", {"base.x=1"}), HasSubstr("--set base.x=1: `base` is resolved before --set"));
  EXPECT_THAT(error_of("base.toml", {"modle.instances=3"}),
              HasSubstr("--set modle.instances=3: no section 'modle'; did you mean 'model'?"));
  EXPECT_THAT(error_of("base.toml", {"model.instancs=3"}),
              HasSubstr("--set model.instancs=3: [model] instancs: unknown option; did you mean 'instances'?"));
  EXPECT_THAT(error_of("base.toml", {"model.instances=\"four\""}),
              HasSubstr("--set model.instances=\"four\": [model] instances: expects an int, got a string"));
  EXPECT_THAT(error_of("base.toml", {"model"}), HasSubstr("--set model: expected key=value"));
}

TEST(PipelineConfig, KeyErrorsPointAtTheFileThatWroteTheKey) {
  // The child's own key, merged over its base, keeps its position...
  EXPECT_THAT(error_of("child_bad_value.toml"), HasSubstr("child_bad_value.toml:5:1: [model] instances: 0 is out of range"));
  // ...and so does a key that came from the base.
  EXPECT_THAT(error_of("child_of_bad_base.toml"), HasSubstr("unknown_key.toml:5:1: [train] stpes: unknown option"));
}

TEST(PipelineConfig, PluginSectionsRecordWhereEachKeyIs) {
  PipelineConfig c = load_pipeline(fixture("bad_plugin_option.toml"));
  EXPECT_THAT(c.mux.origin.at("plugin"), HasSubstr("bad_plugin_option.toml:14:1"));
  EXPECT_THAT(c.mux.origin.at("nrom"), HasSubstr("bad_plugin_option.toml:15:1"));
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
  EXPECT_THAT(e, HasSubstr("unknown_key.toml:5:1"));
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
  EXPECT_THAT(error_of("does_not_exist.toml"), HasSubstr("no such file"));
  EXPECT_THAT(error_of("base.toml", {"instances=3"}), HasSubstr("section.key=value"));
  EXPECT_THAT(error_of("base.toml", {"model.instances=-1"}), HasSubstr("instances"));
}
