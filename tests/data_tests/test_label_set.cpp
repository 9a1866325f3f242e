// LabelSet: deterministic ids (numeric order for integer labels), encode with errors, JSON round trip.
#include <datamux/data/label_set.hpp>
#include <datamux/options.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

using namespace datamux;
using namespace datamux::data;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;
using Names = std::vector<std::string>;

TEST(LabelSet, StringLabelsSortAndIgnoreInputOrder) {
  LabelSet a = LabelSet::build(Names{"spam", "ham", "spam"});
  LabelSet b = LabelSet::build(Names{"ham", "spam"});
  EXPECT_EQ(a.names(), (Names{"ham", "spam"}));
  EXPECT_EQ(a, b);
  EXPECT_EQ(a.id("spam"), 1);
  EXPECT_EQ(a.name(0), "ham");
}

TEST(LabelSet, IntegerLabelsSortNumerically) {
  LabelSet s = LabelSet::build(Names{"10", "2", "0", "-1"});
  EXPECT_EQ(s.names(), (Names{"-1", "0", "2", "10"}));
}

TEST(LabelSet, BuildsFromTagSentences) {
  LabelSet s = LabelSet::build(std::vector<Names>{{"O", "B-PER"}, {"I-PER", "O"}});
  EXPECT_EQ(s.names(), (Names{"B-PER", "I-PER", "O"}));
}

TEST(LabelSet, UnknownLabelNamesItsPosition) {
  LabelSet s = LabelSet::build(Names{"neg", "pos"});
  EXPECT_EQ(s.encode({"pos", "neg", "pos"}), (std::vector<int32_t>{1, 0, 1}));
  EXPECT_EQ(s.find("neutral"), -1);
  EXPECT_THAT([&] { s.encode({"pos", "neutral"}, "test label"); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("test label 1"), HasSubstr("'neutral'"), HasSubstr("neg, pos"))));
  EXPECT_THROW(s.name(2), std::out_of_range);
}

TEST(LabelSet, RejectsDuplicatesAndEmptyNames) {
  EXPECT_THAT([] { LabelSet(Names{"a", "b", "a"}); }, ThrowsMessage<InputError>(HasSubstr("'a' appears twice")));
  EXPECT_THAT([] { LabelSet(Names{"a", ""}); }, ThrowsMessage<InputError>(HasSubstr("empty")));
}

TEST(LabelSet, RoundTripsThroughString) {
  LabelSet s(Names{"z", "a", "m"});
  LabelSet back = LabelSet::from_string(s.to_string());
  EXPECT_EQ(back, s);
  EXPECT_EQ(back.id("a"), 1);
  EXPECT_THAT([] { LabelSet::from_string("[1, 2]"); }, ThrowsMessage<InputError>(HasSubstr("datamux-labels")));
  EXPECT_THAT([] { LabelSet::from_string(R"({"format": "datamux-labels", "version": 1, "names": [1]})"); },
              ThrowsMessage<InputError>(HasSubstr("must be a string")));
}
