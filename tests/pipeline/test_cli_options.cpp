// Options as a user gives them to `datamux`: --set read as TOML, plugin-option mistakes reported at
// file:line:column (or the --set argument) with exit code 2, and the one schema rendering behind
// `plugins info`, `docs pipelines` and their JSON.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>
#include <string>

#include "run_test_util.hpp"

using ::testing::HasSubstr;
using ::testing::Not;
using datamux::testing::pipeline_fixture;
using datamux::testing::run_cli;
using Result = datamux::testing::CliResult;

namespace {

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
  return n;
}

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

}  // namespace

TEST(CliOptions, PluginOptionErrorNamesFileLineAndColumnOfTheKey) {
  Result r = run_cli("validate " + pipeline_fixture("bad_plugin_option.toml"));
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("bad_plugin_option.toml:15:1: [mux] nrom: unknown option; did you mean 'norm'?"));
  r = run_cli("validate " + pipeline_fixture("plugin_option_out_of_range.toml"));
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("plugin_option_out_of_range.toml:21:1: [backbone] ffn: -4 is out of range"));
}

TEST(CliOptions, PluginOptionErrorFromSetNamesTheArgument) {
  Result r = run_cli("validate " + pipeline_fixture("retrieval_small.toml") + " --set backbone.layers=two");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("--set backbone.layers=two: [backbone] layers: expects an int, got a string (\"two\")"));
  r = run_cli("validate " + pipeline_fixture("retrieval_small.toml") + " --set mux.plugin=gausian");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("--set mux.plugin=gausian: no mux plugin named 'gausian'; did you mean 'gaussian'?"));
}

TEST(CliOptions, SetThatMatchesNothingExitsTwo) {
  for (const char* set : {"base.x=1", "bsae.x=1", "mux.nrom=2"}) {
    Result r = run_cli("validate " + pipeline_fixture("retrieval_small.toml") + " --set " + set);
    EXPECT_EQ(r.code, 2) << set << "\n" << r.output;
    EXPECT_THAT(r.output, HasSubstr(std::string("datamux: error: --set ") + set + ": ")) << set;
  }
}

TEST(CliOptions, SetAcceptsTomlValues) {
  Result r = run_cli("validate " + pipeline_fixture("retrieval_small.toml") +
                     " --set 'mux={plugin=\"gaussian\", norm=5, trainable=true}' --set model.instances=3 --set 'output.dir=\"a b\"'");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("N = 3: gaussian mux -> transformer backbone"));
  r = run_cli("validate " + pipeline_fixture("retrieval_small.toml") + " --set 'model.instances=[3'");
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.output, HasSubstr("--set model.instances=[3: not a TOML key = value"));
}

TEST(CliOptions, PluginsTryReadsSetAsToml) {
  Result r = run_cli("plugins try cnn --kind backbone --input image --height 28 --width 28 --set 'channels=[4, 8]' --set activation=tanh");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("channels = [4, 8]"));
  EXPECT_THAT(r.output, HasSubstr("activation = \"tanh\""));
  r = run_cli("plugins try gaussian --set norm=2");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("norm = 2.0"));
  r = run_cli("plugins try gaussian --set norm=abc");
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.output, HasSubstr("--set norm=abc: [mux] norm: expects a float, got a string (\"abc\")"));
  r = run_cli("plugins try gaussian --set 'norm=\"2'");
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.output, HasSubstr("--set norm=\"2: not a TOML key = value"));
  r = run_cli("plugins try gaussian --set mux.norm=2");
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.output, HasSubstr("--set mux.norm=2: 'mux' is a dotted key"));
}

TEST(CliOptions, PluginsInfoShowsEachListOfChoicesOnce) {
  Result r = run_cli("plugins info transformer --kind backbone");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("activation = \"gelu\"  # string, one of \"gelu\", \"relu\"\n"));
  EXPECT_EQ(count(r.output, "one of"), 1u) << r.output;
}

TEST(CliOptions, DocsPipelinesIsDocsPipelinesMd) {
  Result r = run_cli("docs pipelines", /*with_stderr=*/false);
  ASSERT_EQ(r.code, 0);
  const std::string page = slurp(std::string(DATAMUX_SOURCE_DIR) + "/docs/pipelines.md");
  ASSERT_FALSE(page.empty());
  EXPECT_TRUE(r.output == page) << "docs/pipelines.md is stale: regenerate it with\n"
                                   "  build/bin/datamux docs pipelines > docs/pipelines.md";
  EXPECT_EQ(count(r.output, "one of \"gelu\", \"relu\""), 1u);
}

TEST(CliOptions, DocsPipelinesJsonHasEverySectionAndPlugin) {
  Result r = run_cli("docs pipelines --json", /*with_stderr=*/false);
  ASSERT_EQ(r.code, 0);
  const nlohmann::json j = nlohmann::json::parse(r.output);
  std::vector<std::string> sections;
  for (const auto& s : j.at("sections")) sections.push_back(s.at("section"));
  EXPECT_EQ(sections, (std::vector<std::string>{"task", "model", "train", "eval", "output"}));
  bool found = false;
  for (const auto& p : j.at("plugins"))
    if (p.at("name") == "transformer")
      for (const auto& o : p.at("options"))
        if (o.at("key") == "activation") {
          found = true;
          EXPECT_EQ(o.at("allowed"), "one of \"gelu\", \"relu\"");
          EXPECT_EQ(o.at("default"), "gelu");
        }
  EXPECT_TRUE(found);
  // The Markdown page says the same: the allowed values of every option come from one place.
  EXPECT_THAT(run_cli("docs pipelines", false).output,
              HasSubstr("| `activation` | string | `\"gelu\"` | one of \"gelu\", \"relu\" |"));
}
