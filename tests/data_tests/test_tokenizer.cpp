// WordTokenizer: splitting, vocabulary order and min count, special ids, truncation, padding,
// decode, the JSON round trip (with [MASK], and of a version-1 tokenizer saved before [MASK] existed)
// and rejection of malformed JSON.
#include <datamux/data/tokenizer.hpp>
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
  const Words expected = {"[PAD]", "[UNK]", "[CLS]", "[MASK]", "the", "cat", "sat", "!", ",", ".", "a", "dog", "end", "ran"};
  ASSERT_EQ(tok.vocab_size(), static_cast<int64_t>(expected.size()));
  for (int32_t i = 0; i < tok.vocab_size(); ++i) EXPECT_EQ(tok.token(i), expected[i]) << i;
  EXPECT_EQ(WordTokenizer::kPad, 0);
  EXPECT_EQ(WordTokenizer::kUnk, 1);
  EXPECT_EQ(WordTokenizer::kCls, 2);
  EXPECT_EQ(tok.mask_id(), 3);
  EXPECT_TRUE(tok.has_mask());
  EXPECT_EQ(tok.num_special(), 4);
}

TEST(WordTokenizer, MinCountAndMaxVocabDropRareWords) {
  WordTokenizer tok = WordTokenizer::build(kTrain, {.min_count = 2});
  EXPECT_EQ(tok.vocab_size(), 7);
  EXPECT_EQ(tok.encode("the dog sat"), (Ids{4, WordTokenizer::kUnk, 6}));
  WordTokenizer capped = WordTokenizer::build(kTrain, {.max_vocab = 5});
  EXPECT_EQ(capped.vocab_size(), 5);
  EXPECT_EQ(capped.token(4), "the");
}

TEST(WordTokenizer, EncodeTruncatesAndPads) {
  WordTokenizer tok = WordTokenizer::build(kTrain, {.max_length = 3});
  EXPECT_EQ(tok.encode("The cat sat on the mat"), (Ids{4, 5, 6}));
  EXPECT_EQ(tok.encode("cat", /*pad=*/true), (Ids{5, 0, 0}));
  EXPECT_EQ(tok.encode_words({"THE", "zebra"}), (Ids{4, WordTokenizer::kUnk}));
}

TEST(WordTokenizer, WordsSpellingSpecialTokensAreUnknown) {
  WordTokenizer tok = WordTokenizer::build_from_words({{"[CLS]", "x", "[MASK]"}}, {.lowercase = false});
  EXPECT_EQ(tok.vocab_size(), 5);
  EXPECT_EQ(tok.encode_words({"[CLS]", "[PAD]", "x", "[MASK]"}),
            (Ids{WordTokenizer::kUnk, WordTokenizer::kUnk, 4, WordTokenizer::kUnk}));
}

TEST(WordTokenizer, DecodeSkipsPadding) {
  WordTokenizer tok = WordTokenizer::build(kTrain, {.max_length = 6});
  EXPECT_EQ(tok.decode(tok.encode("The dog sat!", true)), "the dog sat !");
  EXPECT_EQ(tok.decode({WordTokenizer::kCls, 5, WordTokenizer::kMask, WordTokenizer::kUnk}), "[CLS] cat [MASK] [UNK]");
  EXPECT_THROW(tok.decode({99}), std::out_of_range);
}

TEST(WordTokenizer, BuildFromWordsCountsPreSplitTokens) {
  WordTokenizer tok = WordTokenizer::build_from_words({{"New", "York"}, {"new", "ideas"}}, {});
  EXPECT_EQ(tok.token(4), "new");
  EXPECT_EQ(tok.encode_words({"NEW", "York", "ideas"}), (Ids{4, tok.id("york"), tok.id("ideas")}));
  EXPECT_NE(tok.id("york"), WordTokenizer::kUnk);
}

TEST(WordTokenizer, RoundTripsThroughString) {
  WordTokenizer tok = WordTokenizer::build(kTrain, {.min_count = 1, .lowercase = true, .max_length = 5});
  WordTokenizer back = WordTokenizer::from_string(tok.to_string());
  EXPECT_EQ(back.vocab_size(), tok.vocab_size());
  EXPECT_EQ(back.options().max_length, 5);
  EXPECT_TRUE(back.options().lowercase);
  for (const std::string& text : kTrain) EXPECT_EQ(back.encode(text, true), tok.encode(text, true));
  EXPECT_TRUE(back.has_mask());
  EXPECT_EQ(back.mask_id(), WordTokenizer::kMask);
  EXPECT_EQ(back.token(WordTokenizer::kMask), "[MASK]");
  EXPECT_EQ(back.to_string(), tok.to_string());
  EXPECT_THAT(tok.to_string(), HasSubstr(R"("version":2)"));
}

// A checkpoint written before [MASK] existed keeps its ids: words from id 3, no mask, saved again as version 1.
TEST(WordTokenizer, LoadsVersionOneTokenizersWithTheirIds) {
  const std::string v1 =
      R"({"format": "datamux-word-tokenizer", "version": 1, "lowercase": true, "max_length": 4, "min_count": 1,
          "max_vocab": 4, "vocab": ["[PAD]", "[UNK]", "[CLS]", "the"]})";
  WordTokenizer old = WordTokenizer::from_string(v1);
  EXPECT_EQ(old.vocab_size(), 4);
  EXPECT_EQ(old.num_special(), 3);
  EXPECT_FALSE(old.has_mask());
  EXPECT_EQ(old.encode("The mask"), (Ids{3, WordTokenizer::kUnk}));
  EXPECT_THAT([&] { (void)old.mask_id(); }, ThrowsMessage<InputError>(HasSubstr("version 1")));
  EXPECT_THAT(old.to_string(), HasSubstr(R"("version":1)"));
  EXPECT_EQ(WordTokenizer::from_string(old.to_string()).encode("the"), (Ids{3}));
}

TEST(WordTokenizer, RejectsBadOptions) {
  EXPECT_THAT([] { WordTokenizer::build(kTrain, {.min_count = 0}); }, ThrowsMessage<InputError>(HasSubstr("min_count")));
  EXPECT_THAT([] { WordTokenizer::build(kTrain, {.max_length = 0}); }, ThrowsMessage<InputError>(HasSubstr("max_length")));
  EXPECT_THAT([] { WordTokenizer::build(kTrain, {.max_vocab = 4}); }, ThrowsMessage<InputError>(HasSubstr("max_vocab")));
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
  EXPECT_THAT([&] { WordTokenizer::from_string(head + R"(["[PAD]", "[UNK]", "[CLS]", "[MASK]"]})"); },
              ThrowsMessage<InputError>(HasSubstr("version 2 reserves")));
  const std::string v2 =
      R"({"format": "datamux-word-tokenizer", "version": 2, "lowercase": true, "max_length": 8, "min_count": 1,
          "max_vocab": 0, "vocab": )";
  EXPECT_THAT([&] { WordTokenizer::from_string(v2 + R"(["[PAD]", "[UNK]", "[CLS]", "a"]})"); },
              ThrowsMessage<InputError>(HasSubstr("must start with [PAD], [UNK], [CLS], [MASK]")));
}
