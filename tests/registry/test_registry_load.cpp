// Loading plugin libraries: each refusal has its own message naming the file (and both versions where
// there are two), checked in order; folder scans record refusals instead of failing.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <datamux/registry.hpp>

#include "registry_test_paths.hpp"

namespace datamux {
namespace {

using ::testing::HasSubstr;
using namespace datamux::test;

std::string load_error(const std::string& path) {
  Registry reg;
  try {
    reg.load(path);
  } catch (const InputError& e) {
    return e.what();
  }
  return "(loaded)";
}

TEST(RegistryLoad, GoodPluginManifest) {
  Registry reg;
  const PluginInfo& p = reg.load(good_lib());
  EXPECT_EQ(p.path, good_lib());
  EXPECT_EQ(p.manifest->kind, PluginKind::Mux);
  EXPECT_STREQ(p.manifest->name, "test_scale");
  EXPECT_STREQ(p.manifest->version, "1.2.3");
  EXPECT_EQ(p.manifest->abi_version, kAbiVersion);
  EXPECT_STREQ(p.manifest->toolchain, DATAMUX_TOOLCHAIN);
  ASSERT_EQ(p.manifest->options.size(), 7u);
  EXPECT_EQ(p.manifest->create.kind, PluginKind::Mux);
  EXPECT_EQ(p.manifest->options[0].key, "init");
  EXPECT_EQ(&reg.load(good_lib()), &p);  // loading again returns the same plugin
}

TEST(RegistryLoad, MissingFile) {
  EXPECT_THAT(load_error(broken_dir() + "/libdatamux-nothing.so"), HasSubstr("libdatamux-nothing.so' does not exist"));
}

TEST(RegistryLoad, FolderIsNotALibrary) { EXPECT_THAT(load_error(broken_dir()), HasSubstr("is a folder")); }

TEST(RegistryLoad, NotALibraryGivesTheLoaderMessage) {
  const std::string e = load_error(broken_lib("notalib"));
  EXPECT_THAT(e, HasSubstr("cannot load plugin library '" + broken_lib("notalib") + "'"));
  EXPECT_THAT(e, HasSubstr("invalid ELF header"));  // dlerror's text
}

TEST(RegistryLoad, MissingSymbol) {
  const std::string e = load_error(broken_lib("missing_symbol"));
  EXPECT_THAT(e, HasSubstr(broken_lib("missing_symbol")));
  EXPECT_THAT(e, HasSubstr("does not export the symbol 'datamux_plugin'"));
}

TEST(RegistryLoad, SymbolNotMadeByTheMacroIsNotCalled) {
  EXPECT_THAT(load_error(broken_lib("plain_symbol")),
              HasSubstr("exports 'datamux_plugin' but not through DATAMUX_PLUGIN"));
}

TEST(RegistryLoad, AbiMismatchNamesFileAndBothVersions) {
  const std::string e = load_error(broken_lib("abi_mismatch"));
  EXPECT_THAT(e, HasSubstr(broken_lib("abi_mismatch")));
  EXPECT_THAT(e, HasSubstr("built for datamux SDK ABI version " + std::to_string(kAbiVersion + 1)));
  EXPECT_THAT(e, HasSubstr("uses ABI version " + std::to_string(kAbiVersion)));
}

TEST(RegistryLoad, ToolchainMismatchNamesBoth) {
  const std::string e = load_error(broken_lib("toolchain_mismatch"));
  EXPECT_THAT(e, HasSubstr(broken_lib("toolchain_mismatch")));
  EXPECT_THAT(e, HasSubstr("built with toolchain 'othercc-99/otherlib/c++201703L'"));
  EXPECT_THAT(e, HasSubstr(std::string("this datamux was built with '") + DATAMUX_TOOLCHAIN + "'"));
}

TEST(RegistryLoad, KindMustMatchWhatTheFactoryBuilds) {
  const std::string e = load_error(broken_lib("kind_mismatch"));
  EXPECT_THAT(e, HasSubstr(broken_lib("kind_mismatch")));
  EXPECT_THAT(e, HasSubstr("declares kind 'backbone' but its factory builds a mux"));
}

TEST(RegistryLoad, DefaultOutsideItsOwnRangeIsTheAuthorsBug) {
  const std::string e = load_error(broken_lib("bad_schema"));
  EXPECT_THAT(e, HasSubstr("mux plugin 'test_broken'"));
  EXPECT_THAT(e, HasSubstr("default of ratio: 5.0 is out of range [0.0, 1.0]"));
}

TEST(RegistryLoad, DuplicateKindAndNameNamesBothFiles) {
  Registry reg;
  reg.load(good_lib());
  const std::string e = [&] {
    try {
      reg.load(dup_lib());
    } catch (const InputError& x) {
      return std::string(x.what());
    }
    return std::string("(loaded)");
  }();
  EXPECT_THAT(e, HasSubstr("two plugin libraries provide the mux plugin 'test_scale'"));
  EXPECT_THAT(e, HasSubstr(good_lib()));
  EXPECT_THAT(e, HasSubstr(dup_lib()));
  EXPECT_EQ(reg.find(PluginKind::Mux, "test_scale").path, good_lib());  // an explicit load leaves the first in place
}

TEST(RegistryScan, FolderScanListsGoodPluginsAndRecordsRefusals) {
  Registry reg;
  reg.add_search_path(good_dir());
  reg.add_search_path(broken_dir());
  std::vector<std::string> names;
  for (const PluginInfo* p : reg.list()) names.push_back(p->manifest->name);
  EXPECT_EQ(names, (std::vector<std::string>{"test_scale", "test_throws"}));
  const std::vector<PluginProblem> problems = reg.problems();
  ASSERT_EQ(problems.size(), 7u);  // every library in broken/, each for its own reason
  std::string all;
  for (const auto& p : problems) all += p.message + "\n";
  EXPECT_THAT(all, HasSubstr("invalid ELF header"));
  EXPECT_THAT(all, HasSubstr("ABI version"));
  EXPECT_THAT(all, HasSubstr("toolchain"));
}

TEST(RegistryScan, DuplicateFoundByScanIsReportedWhenAskedFor) {
  Registry reg;
  reg.add_search_path(good_dir());
  reg.add_search_path(dup_dir());
  try {
    reg.find(PluginKind::Mux, "test_scale");
    FAIL() << "a duplicated name was resolved";
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr(good_lib()));
    EXPECT_THAT(e.what(), HasSubstr(dup_lib()));
  }
  EXPECT_NO_THROW(reg.find(PluginKind::Mux, "test_throws"));
}

TEST(RegistryScan, SameFolderTwiceIsNotADuplicate) {
  Registry reg;
  reg.add_search_path(good_dir());
  reg.add_search_path(good_dir() + "/");
  reg.add_search_path(good_lib());
  EXPECT_EQ(reg.list().size(), 2u);
  EXPECT_TRUE(reg.problems().empty());
}

TEST(RegistryScan, UnknownNameSuggestsAndListsSearchPath) {
  Registry reg;
  reg.add_search_path(good_dir());
  try {
    reg.find(PluginKind::Mux, "test_scal");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr("no mux plugin named 'test_scal'; did you mean 'test_scale'?"));
    EXPECT_THAT(e.what(), HasSubstr("searched: " + good_dir()));
  }
  try {
    reg.find(PluginKind::Backbone, "test_scale");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr("(there is a mux named 'test_scale')"));
  }
}

TEST(RegistryScan, RefusalsAreShownWhenANameIsMissing) {
  Registry reg;
  reg.add_search_path(broken_dir());
  try {
    reg.find(PluginKind::Mux, "test_broken");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr("refused: "));
    EXPECT_THAT(e.what(), HasSubstr("abi_mismatch"));
  }
}

TEST(RegistryScan, MissingSearchPathIsAProblem) {
  Registry reg;
  reg.add_search_path("/nonexistent/datamux/plugins");
  EXPECT_TRUE(reg.list().empty());
  ASSERT_EQ(reg.problems().size(), 1u);
  EXPECT_THAT(reg.problems()[0].message, HasSubstr("'/nonexistent/datamux/plugins' is neither a folder nor a library"));
}

TEST(RegistryScan, PathsAddedLaterAreScannedLater) {
  Registry reg;
  reg.add_search_path(broken_dir());
  EXPECT_TRUE(reg.list().empty());
  reg.add_search_path(good_dir());
  EXPECT_EQ(reg.list().size(), 2u);
  EXPECT_EQ(reg.search_paths(), (std::vector<std::string>{broken_dir(), good_dir()}));
}

TEST(RegistryPaths, DefaultPathsIncludeBuiltinFolderAndEnvironment) {
  // The test binary is build/bin/registry_tests: the built-in folder is build/lib/datamux/plugins.
  const std::vector<std::string> builtin = Registry::builtin_plugin_dirs();
  ASSERT_FALSE(builtin.empty());
  EXPECT_THAT(builtin[0], ::testing::EndsWith("/lib/datamux/plugins"));
  setenv("DATAMUX_PLUGIN_PATH", (good_dir() + "::" + broken_dir()).c_str(), 1);
  Registry reg = Registry::with_default_paths();
  unsetenv("DATAMUX_PLUGIN_PATH");
  const std::vector<std::string> paths = reg.search_paths();
  ASSERT_EQ(paths.size(), builtin.size() + 2);
  EXPECT_EQ(paths[builtin.size()], good_dir());
  EXPECT_EQ(paths[builtin.size() + 1], broken_dir());
  EXPECT_NO_THROW(reg.find(PluginKind::Mux, "test_scale"));
}

TEST(RegistryKinds, ParseKindNames) {
  EXPECT_EQ(parse_plugin_kind("mux"), PluginKind::Mux);
  EXPECT_EQ(parse_plugin_kind("backbone"), PluginKind::Backbone);
  EXPECT_EQ(parse_plugin_kind("demux"), PluginKind::Demux);
  EXPECT_EQ(parse_plugin_kind("head"), PluginKind::Head);
  EXPECT_FALSE(parse_plugin_kind("muxer").has_value());
  EXPECT_STREQ(plugin_kind_name(PluginKind::Demux), "demux");
  EXPECT_STREQ(input_kind_name(InputKind::Image), "image");
  EXPECT_STREQ(option_type_name(OptionType::IntList), "int list");
}

}  // namespace
}  // namespace datamux
