// Options validation against a schema: defaults, conversions, and one message per mistake that names
// the section and the key.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <datamux/options.hpp>

namespace datamux {
namespace {

using ::testing::HasSubstr;

std::vector<OptionSpec> schema() {
  return {opt_float("norm", 1.0, "L2 norm", 0.0),
          opt_int("layers", 2, "depth", 1, 12),
          opt_string("activation", "relu", "nonlinearity", {"relu", "gelu", "tanh"}),
          opt_bool("bias", true, "use a bias"),
          opt_int_list("sizes", {4, 8}, "widths"),
          opt_string("label", "x", "free text")};
}

std::string error_of(const Options& given, const std::string& where = "[mux]") {
  try {
    validate_options(schema(), given, where);
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no error)";
}

Options with(const std::string& key, OptionValue v) {
  Options o;
  o.set(key, std::move(v));
  return o;
}

TEST(Options, DefaultsFillMissingKeysInSchemaOrder) {
  const Options o = validate_options(schema(), with("layers", int64_t{5}), "[mux]");
  ASSERT_EQ(o.items().size(), 6u);
  EXPECT_EQ(o.items()[0].first, "norm");
  EXPECT_DOUBLE_EQ(o.get_float("norm"), 1.0);
  EXPECT_EQ(o.get_int("layers"), 5);
  EXPECT_EQ(o.get_string("activation"), "relu");
  EXPECT_TRUE(o.get_bool("bias"));
  EXPECT_EQ(o.get_int_list("sizes"), (IntList{4, 8}));
}

TEST(Options, IntGivenForFloatBecomesFloat) {
  const Options o = validate_options(schema(), with("norm", int64_t{20}), "[mux]");
  EXPECT_TRUE(std::holds_alternative<double>(*o.find("norm")));
  EXPECT_DOUBLE_EQ(o.get_float("norm"), 20.0);
}

TEST(Options, UnknownKeySuggestsTheClosest) {
  const std::string e = error_of(with("nrom", 2.0));
  EXPECT_THAT(e, HasSubstr("[mux] nrom: unknown option"));
  EXPECT_THAT(e, HasSubstr("did you mean 'norm'?"));
  EXPECT_THAT(e, ::testing::Not(HasSubstr("known:")));  // the suggestion is enough
}

TEST(Options, UnknownKeyWithNothingCloseHasNoSuggestion) {
  const std::string e = error_of(with("zzzzzz", 2.0));
  EXPECT_THAT(e, HasSubstr("[mux] zzzzzz: unknown option"));
  EXPECT_THAT(e, ::testing::Not(HasSubstr("did you mean")));
  EXPECT_THAT(e, HasSubstr("(known: norm, layers, activation, bias, sizes, label)"));
}

TEST(Options, UnknownKeyForPluginWithoutOptions) {
  try {
    validate_options({}, with("x", true), "[demux]");
    FAIL() << "accepted an unknown key";
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr("[demux] x: unknown option (this section takes no options)"));
  }
}

TEST(Options, WrongTypeNamesBothTypes) {
  EXPECT_THAT(error_of(with("layers", std::string("four"))),
              HasSubstr("[mux] layers: expects an int, got a string (\"four\")"));
  EXPECT_THAT(error_of(with("layers", 2.5)), HasSubstr("[mux] layers: expects an int, got a float (2.5)"));
  EXPECT_THAT(error_of(with("bias", int64_t{1})), HasSubstr("[mux] bias: expects a bool, got an int (1)"));
  EXPECT_THAT(error_of(with("sizes", int64_t{3})), HasSubstr("[mux] sizes: expects an int list, got an int (3)"));
  EXPECT_THAT(error_of(with("norm", std::string("big"))), HasSubstr("[mux] norm: expects a float"));
}

TEST(Options, OutOfRangeShowsTheRange) {
  EXPECT_THAT(error_of(with("layers", int64_t{0})), HasSubstr("[mux] layers: 0 is out of range [1, 12]"));
  EXPECT_THAT(error_of(with("layers", int64_t{13})), HasSubstr("[mux] layers: 13 is out of range [1, 12]"));
  EXPECT_THAT(error_of(with("norm", -0.5)), HasSubstr("[mux] norm: -0.5 is out of range >= 0.0"));
}

TEST(Options, BoundsAreInclusive) {
  EXPECT_NO_THROW(validate_options(schema(), with("layers", int64_t{12}), "[mux]"));
  EXPECT_NO_THROW(validate_options(schema(), with("norm", 0.0), "[mux]"));
}

TEST(Options, NonFiniteFloatIsRefused) {
  EXPECT_THAT(error_of(with("norm", std::numeric_limits<double>::quiet_NaN())),
              HasSubstr("[mux] norm: must be a finite number"));
}

TEST(Options, NotOneOfTheChoicesListsThemAndSuggests) {
  const std::string e = error_of(with("activation", std::string("gleu")));
  EXPECT_THAT(e, HasSubstr("[mux] activation: \"gleu\" is not one of \"relu\", \"gelu\", \"tanh\""));
  EXPECT_THAT(e, HasSubstr("did you mean \"gelu\"?"));
}

TEST(Options, FreeStringAcceptsAnything) {
  EXPECT_EQ(validate_options(schema(), with("label", std::string("any thing")), "[mux]").get_string("label"),
            "any thing");
}

TEST(Options, WhereIsUsedVerbatim) {
  EXPECT_THAT(error_of(with("layers", int64_t{0}), "[backbone] (p.toml:3:1)"),
              HasSubstr("[backbone] (p.toml:3:1) layers: "));
}

TEST(Options, GettersReportMissingAndMistypedKeys) {
  Options o;
  o.set("a", int64_t{3});
  EXPECT_DOUBLE_EQ(o.get_float("a"), 3.0);
  EXPECT_THROW(o.get_string("a"), std::invalid_argument);
  EXPECT_THROW(o.get_int("missing"), std::invalid_argument);
  o.set("a", std::string("s"));  // set replaces
  EXPECT_EQ(o.items().size(), 1u);
  EXPECT_EQ(o.get_string("a"), "s");
}

TEST(Options, ValueStrReadsAsToml) {
  EXPECT_EQ(option_value_str(true), "true");
  EXPECT_EQ(option_value_str(int64_t{-3}), "-3");
  EXPECT_EQ(option_value_str(20.0), "20.0");
  EXPECT_EQ(option_value_str(0.1), "0.1");
  EXPECT_EQ(option_value_str(1e-5), "1e-05");
  EXPECT_EQ(option_value_str(std::string("relu")), "\"relu\"");
  EXPECT_EQ(option_value_str(IntList{1, 2, 3}), "[1, 2, 3]");
  EXPECT_EQ(option_value_str(IntList{}), "[]");
}

TEST(Options, RangeStr) {
  EXPECT_EQ(option_range_str(opt_int("a", 1, "", 1, 5)), "[1, 5]");
  EXPECT_EQ(option_range_str(opt_float("a", 1, "", 0.5)), ">= 0.5");
  EXPECT_EQ(option_range_str(opt_float("a", 1, "", {}, 2)), "<= 2.0");
  EXPECT_EQ(option_range_str(opt_bool("a", true, "")), "");
}

TEST(DidYouMean, SwapsAndTyposWithinLimits) {
  const std::vector<std::string> c = {"steps", "batch", "model", "gaussian", "hadamard"};
  EXPECT_EQ(did_you_mean("stpes", c), "steps");  // one swap
  EXPECT_EQ(did_you_mean("modle", c), "model");
  EXPECT_EQ(did_you_mean("gausian", c), "gaussian");  // one deletion
  EXPECT_EQ(did_you_mean("Batch", c), "batch");       // case-insensitive
  EXPECT_EQ(did_you_mean("xyz", c), "");
  EXPECT_EQ(did_you_mean("anything", {}), "");
  EXPECT_EQ(did_you_mean("a", {"b"}), "");  // everything differs: no suggestion
}

}  // namespace
}  // namespace datamux
