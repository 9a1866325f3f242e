// Sweep files into runs: axes x zip x seeds - exclude, run names, located errors for bad files.
#include <datamux/error.hpp>
#include <datamux/sweep/grid.hpp>
#include <datamux/sweep/sweep_file.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

#include "sweep_test_util.hpp"

using ::testing::HasSubstr;
using namespace datamux::runtime::sweep;
using datamux::testing::sweep_fixture;

namespace {

std::string setting(const SweepRun& r, const std::string& key) {
  for (const auto& s : r.swept)
    if (s.key == key) return s.value.toml;
  return "";
}

std::string load_error(const std::string& fixture) {
  try {
    expand_grid(load_sweep_file(sweep_fixture(fixture)));
  } catch (const datamux::InputError& e) {
    return e.what();
  }
  return "no error";
}

// A sweep file written on the fly into a scratch folder holding a copy of tiny.toml, so `base` resolves.
struct TempSweep {
  std::string path;
  explicit TempSweep(const std::string& text) {
    static const std::filesystem::path dir = [] {
      auto d = datamux::testing::sweep_scratch("grid");
      std::filesystem::copy_file(sweep_fixture("tiny.toml"), d / "tiny.toml");
      return d;
    }();
    static int counter = 0;
    path = (dir / ("sweep-" + std::to_string(counter++) + ".toml")).string();
    std::ofstream(path) << text;
  }
};

}  // namespace

TEST(SweepGrid, AxesTimesZipTimesSeedsMinusExclude) {
  SweepFile s = load_sweep_file(sweep_fixture("grid.toml"));
  ASSERT_EQ(s.axes.size(), 3u);  // instances, the zip, seeds
  std::vector<SweepRun> runs = expand_grid(s);
  ASSERT_EQ(runs.size(), 7u);  // 2 x 2 x 2 - 1
  // The zip keeps mux and norm together: no gaussian run has norm 1.0.
  for (const auto& r : runs) {
    EXPECT_EQ(setting(r, "mux.plugin") == "\"gaussian\"", setting(r, "mux.norm") == "20.0") << r.name;
    EXPECT_FALSE(setting(r, "model.instances") == "1" && setting(r, "mux.plugin") == "\"hadamard\"" &&
                 setting(r, "model.seed") == "2");
  }
  // First axis slowest, seeds fastest; indices follow.
  EXPECT_EQ(runs[0].name, "instances=1,mux=gaussian,norm=20.0,seed=1");
  EXPECT_EQ(runs[1].name, "instances=1,mux=gaussian,norm=20.0,seed=2");
  EXPECT_EQ(runs[2].name, "instances=1,mux=hadamard,norm=1.0,seed=1");
  for (std::size_t i = 0; i < runs.size(); ++i) EXPECT_EQ(runs[i].index, i);
  // Fixed [set] overrides come first, then the swept ones, as --set arguments.
  EXPECT_EQ(runs[0].overrides.front(), "train.steps=2");
  EXPECT_THAT(runs[0].overrides, ::testing::Contains("mux.plugin=\"gaussian\""));
}

TEST(SweepGrid, SameFileSameRunsAndNames) {
  auto a = expand_grid(load_sweep_file(sweep_fixture("grid.toml")));
  auto b = expand_grid(load_sweep_file(sweep_fixture("grid.toml")));
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].name, b[i].name);
}

TEST(SweepGrid, DottedAndQuotedKeysAreTheSame) {
  TempSweep t("base = \"tiny.toml\"\n[axes]\nmodel.instances = [1, 2]\n\"train.lr\" = [0.001]\n");
  auto runs = expand_grid(load_sweep_file(t.path));
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[1].name, "instances=2,lr=0.001");
  EXPECT_EQ(setting(runs[1], "model.instances"), "2");
}

TEST(SweepGrid, TableValuedAxisSetsEachPluginsOwnOptions) {
  TempSweep t("base = \"tiny.toml\"\n[axes]\nmux = [{plugin = \"gaussian\", norm = 20.0}, {plugin = \"random_ortho\"}]\n");
  auto runs = expand_grid(load_sweep_file(t.path));
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].name, "mux=gaussian,norm=20.0");
  EXPECT_EQ(runs[1].name, "mux=random_ortho");
  EXPECT_EQ(setting(runs[1], "mux.norm"), "");
}

TEST(SweepNames, FolderSafeAndStable) {
  Value v{"\"a b/c'd\\\"e\"", "a b/c'd\"e", "x"};
  std::string name = run_name({{"mux.plugin", v}, {"model.instances", {"4", "4", "x"}}});
  EXPECT_EQ(name, "mux=a_b_c_d_e,instances=4");
  for (char c : std::string(" /'\"\\")) EXPECT_EQ(name.find(c), std::string::npos);
  // Two keys with the same last part keep their sections.
  EXPECT_EQ(run_name({{"mux.norm", {"1.0", "1.0", ""}}, {"demux.norm", {"2.0", "2.0", ""}}}), "mux.norm=1.0,demux.norm=2.0");
  // Long names are cut and made unique by a stable hash.
  std::string long_value(300, 'x');
  std::string a = run_name({{"task.data_dir", {"", long_value, ""}}});
  std::string b = run_name({{"task.data_dir", {"", long_value + "y", ""}}});
  EXPECT_LE(a.size(), 200u);
  EXPECT_NE(a, b);
  EXPECT_EQ(a, run_name({{"task.data_dir", {"", long_value, ""}}}));
  EXPECT_EQ(run_name({}), "run");
}

TEST(SweepNames, ValuesThatCollideAfterCleaningAreRefused) {
  TempSweep t("base = \"tiny.toml\"\n[axes]\n\"task.data_dir\" = [\"a b\", \"a/b\"]\n");
  try {
    expand_grid(load_sweep_file(t.path));
    FAIL() << "expected an error";
  } catch (const datamux::InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr("share the folder name 'data_dir=a_b'"));
  }
}

TEST(SweepFileErrors, NameFileLineColumn) {
  EXPECT_THAT(load_error("bad_empty_axis.toml"), HasSubstr("bad_empty_axis.toml:4:21: \"model.instances\": empty axis"));
  EXPECT_THAT(load_error("bad_type.toml"), HasSubstr("bad_type.toml:4:25: \"model.instances\": every value of an axis must have the same type"));
  EXPECT_THAT(load_error("bad_zip.toml"), HasSubstr("bad_zip.toml:5:"));
  EXPECT_THAT(load_error("bad_zip.toml"), HasSubstr("has 1 values but \"mux.plugin\" has 2"));
  EXPECT_THAT(load_error("bad_toml.toml"), HasSubstr("bad_toml.toml:4:"));
  EXPECT_THAT(load_error("bad_toml.toml"), HasSubstr("malformed TOML"));
}

TEST(SweepFileErrors, StructuralMistakes) {
  auto error_of = [](const std::string& text) {
    TempSweep t(text);
    try {
      expand_grid(load_sweep_file(t.path));
    } catch (const datamux::InputError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_THAT(error_of("[axes]\n\"model.instances\" = [1]\n"), HasSubstr("no `base`"));
  EXPECT_THAT(error_of("base = \"missing.toml\"\n"), HasSubstr(":1:8: base pipeline"));
  EXPECT_THAT(error_of("base = \"tiny.toml\"\naxis = 1\n"), HasSubstr(":2:8: unknown sweep key 'axis'; did you mean 'axes'?"));
  EXPECT_THAT(error_of("base = \"tiny.toml\"\n[axes]\ninstances = [1]\n"), HasSubstr(":3:13: \"instances\": a pipeline key is section.key"));
  EXPECT_THAT(error_of("base = \"tiny.toml\"\nseeds = [1]\n[axes]\n\"model.seed\" = [1, 2]\n"), HasSubstr("swept twice"));
  EXPECT_THAT(error_of("base = \"tiny.toml\"\n[axes]\n\"train.steps\" = [1]\n[set]\n\"train.steps\" = 2\n"),
              HasSubstr(":5:17: \"train.steps\" is both swept and fixed"));
  EXPECT_THAT(error_of("base = \"tiny.toml\"\n[axes]\n\"model.instances\" = [1]\n[[exclude]]\n\"mux.plugin\" = \"x\"\n"),
              HasSubstr(":5:16: [[exclude]] \"mux.plugin\" is not a swept key"));
  EXPECT_THAT(error_of("base = \"tiny.toml\"\n[axes]\n\"model.instances\" = [1]\n[[exclude]]\n\"model.instances\" = 1\n"),
              HasSubstr("every run of the grid is excluded"));
  EXPECT_THAT(error_of("base = \"tiny.toml\"\n[axes]\n\"model.instances\" = [1, 1]\n"), HasSubstr(":3:25: \"model.instances\": value 1 is listed twice"));
  EXPECT_THAT(error_of("base = \"tiny.toml\"\nseeds = [-1]\n"), HasSubstr("seeds must be non-negative integers"));
}
