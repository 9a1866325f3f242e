// GLUE-style TSV/CSV reader: columns by name, quoting, pairs, no-header files, and one InputError per
// kind of broken file, each naming the file and line.
#include <datamux/data/text.hpp>
#include <datamux/options.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

using namespace datamux;
using namespace datamux::data;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

namespace {

std::string fixture(const std::string& name) { return std::string(DATAMUX_TEST_DATA_DIR) + "/delimited/" + name; }

}  // namespace

TEST(Delimited, ReadsTsvWithQuotedFields) {
  TextDataset d = read_delimited(fixture("sst2.tsv"));
  ASSERT_EQ(d.size(), 4);
  EXPECT_EQ(d.texts[0], "it is a great movie");
  EXPECT_EQ(d.texts[1], "a \"quoted\"\tfield");    // tab inside quotes, "" is one quote
  EXPECT_EQ(d.texts[2], "spans\ntwo lines");        // newline inside quotes; the blank line before is skipped
  EXPECT_EQ(d.texts[3], "bare \"quotes\" inside");  // a quote inside an unquoted field is a character
  EXPECT_EQ(d.labels, (std::vector<std::string>{"1", "0", "1", "0"}));
  EXPECT_TRUE(d.text_pairs.empty());
}

TEST(Delimited, CsvIsDetectedByExtensionAndHandlesCrlf) {
  TextDataset d = read_delimited(fixture("reviews.csv"), {.text_column = "text"});
  ASSERT_EQ(d.size(), 3);
  EXPECT_EQ(d.texts[0], "Hello, world");
  EXPECT_EQ(d.texts[1], "plain text");
  EXPECT_EQ(d.texts[2], "");
  EXPECT_EQ(d.labels, (std::vector<std::string>{"positive", "negative", "negative"}));
}

TEST(Delimited, ReadsSentencePairs) {
  TextDataset d = read_delimited(fixture("pair.tsv"), {.text_column = "premise", .text_pair_column = "hypothesis"});
  ASSERT_EQ(d.size(), 2);
  EXPECT_EQ(d.texts[1], "A cat runs.");
  EXPECT_EQ(d.text_pairs[1], "No animal moves.");
  EXPECT_EQ(d.labels[0], "entailment");
  TextDataset sub = d.subset({1});
  EXPECT_EQ(sub.text_pairs, (std::vector<std::string>{"No animal moves."}));
  EXPECT_EQ(sub.labels, (std::vector<std::string>{"contradiction"}));
}

TEST(Delimited, NoHeaderUsesColumnNumbers) {
  TextDataset d = read_delimited(fixture("no-header.tsv"), {.text_column = "0", .label_column = "1", .header = false});
  ASSERT_EQ(d.size(), 2);
  EXPECT_EQ(d.texts[0], "first text");
  EXPECT_EQ(d.labels[1], "10");
  EXPECT_THAT([] { read_delimited(fixture("no-header.tsv"), {.text_column = "text", .header = false}); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("no-header.tsv:1"), HasSubstr("numbered from 0"))));
  EXPECT_THAT([] { read_delimited(fixture("no-header.tsv"), {.text_column = "0", .label_column = "5", .header = false}); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("no-header.tsv:1"), HasSubstr("rows have 2 columns"))));
}

TEST(Delimited, MissingColumnListsTheColumnsThereAre) {
  EXPECT_THAT([] { read_delimited(fixture("bad-no-column.tsv"), {.label_column = "gold"}); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("bad-no-column.tsv:1"), HasSubstr("no column 'gold'"),
                                              HasSubstr("'sentence', 'label'"))));
}

TEST(Delimited, RowWithWrongFieldCountNamesItsLine) {
  EXPECT_THAT([] { read_delimited(fixture("bad-field-count.tsv")); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("bad-field-count.tsv:3"), HasSubstr("has 3 fields"),
                                              HasSubstr("header has 2"))));
}

TEST(Delimited, UnterminatedQuoteNamesTheLineItOpens) {
  EXPECT_THAT([] { read_delimited(fixture("bad-unterminated.csv"), {.text_column = "text"}); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("bad-unterminated.csv:3"), HasSubstr("never closed"))));
}

TEST(Delimited, TextAfterClosingQuoteIsAnErrorUnlessQuotingIsOff) {
  EXPECT_THAT([] { read_delimited(fixture("bad-after-quote.tsv")); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("bad-after-quote.tsv:3"), HasSubstr("quoting = false"))));
  TextDataset d = read_delimited(fixture("bad-after-quote.tsv"), {.quoting = false});
  EXPECT_EQ(d.texts[1], "\"quoted\" then text");
}

TEST(Delimited, EmptyLabelIsAnError) {
  EXPECT_THAT([] { read_delimited(fixture("bad-empty-label.tsv")); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("bad-empty-label.tsv:3"), HasSubstr("empty label"))));
}

TEST(Delimited, EmptyAndHeaderOnlyFilesAreErrors) {
  EXPECT_THAT([] { read_delimited(fixture("bad-empty.tsv")); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("bad-empty.tsv:1"), HasSubstr("empty"))));
  EXPECT_THAT([] { read_delimited(fixture("bad-header-only.tsv")); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("bad-header-only.tsv:1"), HasSubstr("no data rows"))));
}

TEST(Delimited, MissingFileIsNamed) {
  EXPECT_THAT([] { read_delimited(fixture("absent.tsv")); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("absent.tsv"), HasSubstr("no such file"))));
}
