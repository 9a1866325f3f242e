// WordTokenizer: splitting, vocabulary order and min count, special ids, truncation, padding,
// decode, the JSON round trip and rejection of malformed JSON.
#include <datamux/runtime/data/tokenizer.hpp>
#include <datamux/options.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

using namespace datamux;
using namespace datamux::data;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;
using Ids = std::vector<int32_t>;
using Words = std::vector<std::string>;

namespace {

const std::vector<std::string> kTrain = {"The cat sat.", "the CAT ran!", "A dog sat, the end"};

}  // namespace

TEST(WordTokenizer, SplitsWordsAndPunctuation) {
  WordTokenizer tok = WordTokenizer::build({}, {});
  EXPECT_EQ(tok.split("Don't STOP, now!"), (Words{"don", "'", "t", "stop", ",", "now", "!"}));
  EXPECT_EQ(tok.split("  caf\xC3\xA9 x_1\t\n"), (Words{"caf\xC3\xA9", "x_1"}));
  WordTokenizer cased = WordTokenizer::build({}, {.lowercase = false});
  EXPECT_EQ(cased.split("Hi There"), (Words{"Hi", "There"}));
}

TEST(WordTokenizer, VocabularyIsSpecialsThenByCountThenBytes) {
  WordTokenizer tok = WordTokenizer::build(kTrain, {});
  // counts: the 3; cat 2, sat 2; ".", "!", ",", a, dog, end, ran 1 each
  const Words expected = {"[PAD]", "[UNK]", "[CLS]", "the", "cat", "sat", "!", ",", ".", "a", "dog", "end", "ran"};
  ASSERT_EQ(tok.vocab_size(), static_cast<int64_t>(expected.size()));
  for (int32_t i = 0; i < tok.vocab_size(); ++i) EXPECT_EQ(tok.token(i), expected[i]) << i;
  EXPECT_EQ(WordTokenizer::kPad, 0);
  EXPECT_EQ(WordTokenizer::kUnk, 1);
  EXPECT_EQ(WordTokenizer::kCls, 2);
}

TEST(WordTokenizer, MinCountAndMaxVocabDropRareWords) {
  WordTokenizer tok = WordTokenizer::build(kTrain, {.min_count = 2});
  EXPECT_EQ(tok.vocab_size(), 6);
  EXPECT_EQ(tok.encode("the dog sat"), (Ids{3, WordTokenizer::kUnk, 5}));
  WordTokenizer capped = WordTokenizer::build(kTrain, {.max_vocab = 4});
  EXPECT_EQ(capped.vocab_size(), 4);
  EXPECT_EQ(capped.token(3), "the");
}

TEST(WordTokenizer, EncodeTruncatesAndPads) {
  WordTokenizer tok = WordTokenizer::build(kTrain, {.max_length = 3});
  EXPECT_EQ(tok.encode("The cat sat on the mat"), (Ids{3, 4, 5}));
  EXPECT_EQ(tok.encode("cat", /*pad=*/true), (Ids{4, 0, 0}));
  EXPECT_EQ(tok.encode_words({"THE", "zebra"}), (Ids{3, WordTokenizer::kUnk}));
}

TEST(WordTokenizer, WordsSpellingSpecialTokensAreUnknown) {
  WordTokenizer tok = WordTokenizer::build_from_words({{"[CLS]", "x"}}, {.lowercase = false});
  EXPECT_EQ(tok.vocab_size(), 4);
  EXPECT_EQ(tok.encode_words({"[CLS]", "[PAD]", "x"}), (Ids{WordTokenizer::kUnk, WordTokenizer::kUnk, 3}));
}

TEST(WordTokenizer, DecodeSkipsPadding) {
  WordTokenizer tok = WordTokenizer::build(kTrain, {.max_length = 6});
  EXPECT_EQ(tok.decode(tok.encode("The dog sat!", true)), "the dog sat !");
  EXPECT_EQ(tok.decode({WordTokenizer::kCls, 4, WordTokenizer::kUnk}), "[CLS] cat [UNK]");
  EXPECT_THROW(tok.decode({99}), std::out_of_range);
}

TEST(WordTokenizer, BuildFromWordsCountsPreSplitTokens) {
  WordTokenizer tok = WordTokenizer::build_from_words({{"New", "York"}, {"new", "ideas"}}, {});
  EXPECT_EQ(tok.token(3), "new");
  EXPECT_EQ(tok.encode_words({"NEW", "York", "ideas"}), (Ids{3, tok.id("york"), tok.id("ideas")}));
  EXPECT_NE(tok.id("york"), WordTokenizer::kUnk);
}

TEST(WordTokenizer, RoundTripsThroughString) {
  WordTokenizer tok = WordTokenizer::build(kTrain, {.min_count = 1, .lowercase = true, .max_length = 5});
  WordTokenizer back = WordTokenizer::from_string(tok.to_string());
  EXPECT_EQ(back.vocab_size(), tok.vocab_size());
  EXPECT_EQ(back.options().max_length, 5);
  EXPECT_TRUE(back.options().lowercase);
  for (const std::string& text : kTrain) EXPECT_EQ(back.encode(text, true), tok.encode(text, true));
}

TEST(WordTokenizer, RejectsBadOptions) {
  EXPECT_THAT([] { WordTokenizer::build(kTrain, {.min_count = 0}); }, ThrowsMessage<InputError>(HasSubstr("min_count")));
  EXPECT_THAT([] { WordTokenizer::build(kTrain, {.max_length = 0}); }, ThrowsMessage<InputError>(HasSubstr("max_length")));
  EXPECT_THAT([] { WordTokenizer::build(kTrain, {.max_vocab = 3}); }, ThrowsMessage<InputError>(HasSubstr("max_vocab")));
}

TEST(WordTokenizer, RejectsMalformedStrings) {
  EXPECT_THAT([] { WordTokenizer::from_string("{not json"); }, ThrowsMessage<InputError>(HasSubstr("not valid JSON")));
  EXPECT_THAT([] { WordTokenizer::from_string(R"({"format": "other"})"); },
              ThrowsMessage<InputError>(HasSubstr("datamux-word-tokenizer")));
  EXPECT_THAT([] { WordTokenizer::from_string(R"({"format": "datamux-word-tokenizer", "version": 9})"); },
              ThrowsMessage<InputError>(HasSubstr("version")));
  const std::string head =
      R"({"format": "datamux-word-tokenizer", "version": 1, "lowercase": true, "max_length": 8, "min_count": 1,
          "max_vocab": 0, "vocab": )";
  EXPECT_THAT([&] { WordTokenizer::from_string(head + R"(["[UNK]", "[PAD]", "[CLS]"]})"); },
              ThrowsMessage<InputError>(HasSubstr("must start with [PAD], [UNK], [CLS]")));
  EXPECT_THAT([&] { WordTokenizer::from_string(head + R"(["[PAD]", "[UNK]", "[CLS]", "a", "a"]})"); },
              ThrowsMessage<InputError>(HasSubstr("'a' appears twice")));
  EXPECT_THAT([&] { WordTokenizer::from_string(head + R"(["[PAD]", "[UNK]", "[CLS]", 5]})"); },
              ThrowsMessage<InputError>(HasSubstr("must be a string")));
}
