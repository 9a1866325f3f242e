// Hostile data files the readers must turn into one clear InputError (file, line or byte offset, what
// to do) or read as documented: out-of-range and wrapping IDX labels, IDX sizes that overflow, image
// sets of different sizes, non-UTF-8 bytes (texts and words repaired, labels and tags refused), labels
// only the test file has, and FIFOs / devices / folders where a file is expected (refused, never
// blocking). Files are written here, next to the expectation they break.
#include <datamux/options.hpp>
#include <datamux/data/idx.hpp>
#include <datamux/data/label_set.hpp>
#include <datamux/data/tagging.hpp>
#include <datamux/data/text.hpp>
#include <datamux/data/tokenizer.hpp>
#include <datamux/data/utf8.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

using namespace datamux;
using namespace datamux::data;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;
namespace fs = std::filesystem;

namespace {

class BadBytes : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("datamux_badbytes_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& bytes) const {
    const std::string p = (dir_ / name).string();
    std::ofstream(p, std::ios::binary) << bytes;
    return p;
  }
  fs::path dir_;
};

std::string be32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}

// An IDX file: magic 00 00 type rank, big-endian dims, then the payload as given.
std::string idx(uint8_t type, const std::vector<uint32_t>& dims, const std::string& payload) {
  std::string s = {0, 0, static_cast<char>(type), static_cast<char>(dims.size())};
  for (uint32_t d : dims) s += be32(d);
  return s + payload;
}

std::string message_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const InputError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no InputError";
  return "";
}

}  // namespace

// ------------------------------------------------------------------ UTF-8

TEST(Utf8, FindsTheFirstInvalidByte) {
  EXPECT_EQ(first_invalid_utf8("plain ascii"), std::string_view::npos);
  EXPECT_EQ(first_invalid_utf8("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"), std::string_view::npos);
  EXPECT_EQ(first_invalid_utf8("caf\xE9!"), 3u);            // Latin-1 e-acute
  EXPECT_EQ(first_invalid_utf8("ab\xC0\xAF"), 2u);          // overlong '/'
  EXPECT_EQ(first_invalid_utf8("\xED\xA0\x80"), 0u);        // a surrogate
  EXPECT_EQ(first_invalid_utf8("\xF4\x90\x80\x80"), 0u);    // above U+10FFFF
  EXPECT_EQ(first_invalid_utf8("ok\xE2\x82"), 2u);          // cut short at the end
}

TEST(Utf8, RepairReplacesEachMaximalInvalidSubpart) {
  EXPECT_EQ(repair_utf8("caf\xE9"), "caf\xEF\xBF\xBD");
  EXPECT_EQ(repair_utf8("a\xE2\x82z"), "a\xEF\xBF\xBDz");  // a valid prefix becomes one U+FFFD
  EXPECT_EQ(repair_utf8("\xFF\xFE"), "\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(repair_utf8("fine \xC3\xA9"), "fine \xC3\xA9");
  std::string s = "x\x80y\x80";
  EXPECT_EQ(repair_utf8_in_place(s), 2u);
  EXPECT_EQ(first_invalid_utf8(s), std::string_view::npos);
}

// ------------------------------------------------------------------ IDX

TEST_F(BadBytes, AnI32LabelOf2To31Minus1IsRejectedNotWrappedNegative) {
  const std::string images = write("img.idx", idx(0x08, {2, 1, 1}, std::string(2, '\x10')));
  const std::string labels = write("lab.idx", idx(0x0C, {2}, be32(3) + be32(0x7FFFFFFF)));
  const std::string msg = message_of([&] { read_idx_images(images, labels, 10); });
  EXPECT_THAT(msg, HasSubstr(labels));
  EXPECT_THAT(msg, HasSubstr("byte 12: label 1"));
  EXPECT_THAT(msg, HasSubstr("outside the classes 0..9"));
  // Without a class count the label still cannot become a negative id.
  EXPECT_THAT(message_of([&] { read_idx_images(images, labels); }), HasSubstr("too large for a class id"));
}

TEST_F(BadBytes, ALabelPastTheClassesIsRejectedWithItsIndex) {
  const std::string images = write("img.idx", idx(0x08, {3, 1, 1}, std::string(3, '\x10')));
  const std::string labels = write("lab.idx", idx(0x08, {3}, std::string("\x01\x0A\x02", 3)));
  EXPECT_THAT(message_of([&] { read_idx_images(images, labels, 10); }),
              AllOf(HasSubstr("byte 9: label 1 is 10"), HasSubstr("0..9")));
  const std::string negative = write("neg.idx", idx(0x09, {3}, std::string("\x01\xFF\x02", 3)));
  EXPECT_THAT(message_of([&] { read_idx_images(images, negative, 10); }), HasSubstr("label 1 is -1"));
}

TEST_F(BadBytes, DimensionsWhoseProductWrapsPast2To64AreRejected) {
  // 2^20 * (2^32-1) * (2^32-1) * 8 bytes wraps 64 bits; checked by division, it cannot look small.
  const std::string f = write("wrap.idx", idx(0x0E, {1u << 20, 0xFFFFFFFFu, 0xFFFFFFFFu}, ""));
  EXPECT_THAT(message_of([&] { read_idx(f); }), AllOf(HasSubstr(f), HasSubstr("more than 2^40 bytes")));
}

TEST_F(BadBytes, AHeaderDeclaringMoreThanMemoryIsRejectedBeforeReading) {
  // 2^38 u8 values = 1 TiB of floats: under the 2^40-byte file bound, over any test machine's memory.
  const std::string f = write("huge.idx", idx(0x08, {1u << 19, 1u << 19}, std::string(16, '\0')));
  EXPECT_THAT(message_of([&] { read_idx(f); }), AllOf(HasSubstr("byte 4"), HasSubstr("memory")));
}

TEST_F(BadBytes, EmptyAndZeroPixelImageSetsAreRejected) {
  const std::string labels = write("lab.idx", idx(0x08, {0}, ""));
  const std::string none = write("none.idx", idx(0x08, {0, 28, 28}, ""));
  EXPECT_THAT(message_of([&] { read_idx_images(none, labels); }), HasSubstr("at least one image"));
  const std::string flat = write("flat.idx", idx(0x08, {2, 0, 28}, ""));
  EXPECT_THAT(message_of([&] { read_idx_images(flat, labels); }), HasSubstr("2 images of 0x28"));
}

TEST_F(BadBytes, TestImagesOfAnotherSizeNameBothFilesAndSizes) {
  const std::string tr_i = write("train-img.idx", idx(0x08, {1, 2, 2}, std::string(4, '\x01')));
  const std::string te_i = write("test-img.idx", idx(0x08, {1, 3, 3}, std::string(9, '\x01')));
  const std::string lab = write("lab.idx", idx(0x08, {1}, std::string(1, '\x01')));
  const ImageSet train = read_idx_images(tr_i, lab, 10);
  const ImageSet test = read_idx_images(te_i, lab, 10);
  EXPECT_THAT(message_of([&] { check_same_image_size(train, test); }),
              AllOf(HasSubstr(te_i), HasSubstr(tr_i), HasSubstr("3x3"), HasSubstr("2x2")));
  EXPECT_NO_THROW(check_same_image_size(train, train));
}

// ------------------------------------------------------------------ file kinds

TEST_F(BadBytes, FifosDevicesAndFoldersAreRefusedWithoutBlocking) {
  const std::string fifo = (dir_ / "pipe.tsv").string();
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_THAT(message_of([&] { read_delimited(fifo); }), AllOf(HasSubstr(fifo), HasSubstr("FIFO")));
  EXPECT_THAT(message_of([&] { read_conll(fifo); }), HasSubstr("FIFO"));
  EXPECT_THAT(message_of([&] { read_idx(fifo); }), HasSubstr("FIFO"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_THAT(message_of([] { read_idx("/dev/zero"); }), HasSubstr("character device"));
  EXPECT_THAT(message_of([&] { read_delimited(dir_); }), HasSubstr("is a folder"));
}

// ------------------------------------------------------------------ non-UTF-8 text

TEST_F(BadBytes, InvalidBytesInATsvTextBecomeReplacementCharacters) {
  const std::string f = write("t.tsv", "sentence\tlabel\ncaf\xE9 au lait\tpos\n");
  const TextDataset d = read_delimited(f);
  EXPECT_EQ(d.texts[0], "caf\xEF\xBF\xBD au lait");
  EXPECT_EQ(d.lines, (std::vector<int64_t>{2}));
}

TEST_F(BadBytes, AnInvalidLabelIsRejectedWithLineAndByteOffset) {
  // With a byte-order mark, so the offset must count it: 3 (BOM) + 15 (header) + 5 ("fine\t") + 2 ("po").
  const std::string f = write("t.tsv", "\xEF\xBB\xBFsentence\tlabel\nfine\tpo\xE9s\n");
  EXPECT_THAT(message_of([&] { read_delimited(f); }),
              AllOf(HasSubstr(f + ":2: byte 25: the label"), HasSubstr("not valid UTF-8 (byte 0xE9)"), HasSubstr("iconv")));
}

TEST_F(BadBytes, ConllWordsAreRepairedAndTagsRejected) {
  const std::string ok = write("w.conll", "Stra\xDF" "e NN\n\n");
  EXPECT_EQ(read_conll(ok).words[0][0], "Stra\xEF\xBF\xBD" "e");
  const std::string bad = write("t.conll", "a DT\nb N\xC3\n");  // the bad byte is the file's 9th (offset 8)
  EXPECT_THAT(message_of([&] { read_conll(bad); }), AllOf(HasSubstr(bad + ":2: byte 8: the tag"), HasSubstr("0xC3")));
}

TEST_F(BadBytes, BrownWordsAreRepairedAndTagsRejected) {
  fs::create_directories(dir_ / "brown");
  std::ofstream(dir_ / "brown" / "cats.txt") << "ca01 news\n";
  std::ofstream(dir_ / "brown" / "ca01", std::ios::binary) << "\tThe/at caf\xE9/nn ./.\n";
  const TaggingDataset d = load_brown(dir_ / "brown");
  EXPECT_EQ(d.words[0][1], "caf\xEF\xBF\xBD");
  std::ofstream(dir_ / "brown" / "ca01", std::ios::binary) << "\tThe/at x/n\xE9\n";
  EXPECT_THAT(message_of([&] { load_brown(dir_ / "brown"); }),
              AllOf(HasSubstr("ca01:1: byte 11: the tag of token"), HasSubstr("not valid UTF-8")));
}

TEST(BadLabels, TheTokenizerAndLabelSetNeverHoldInvalidUtf8) {
  // Callers other than the readers: the tokenizer repairs (its JSON must be UTF-8), the label set refuses.
  WordTokenizer tok = WordTokenizer::build({"caf\xE9 caf\xE9 ok"});
  EXPECT_EQ(tok.token(WordTokenizer::kNumSpecial), "caf\xEF\xBF\xBD");
  EXPECT_NO_THROW(WordTokenizer::from_string(tok.to_string()));
  EXPECT_EQ(tok.id("caf\xE9"), WordTokenizer::kNumSpecial);
  EXPECT_THROW(LabelSet({"ok", "b\xE9"}), InputError);
}

// ------------------------------------------------------------------ labels only in the test file

TEST_F(BadBytes, ALabelOnlyTheTestFileHasIsRejectedWithItsLine) {
  const std::string train = write("train.tsv", "sentence\tlabel\na\tpos\nb\tneg\n");
  const std::string test = write("test.tsv", "sentence\tlabel\nc\tpos\n\nd\tneutral\n");
  const TextDataset tr = read_delimited(train);
  EXPECT_THAT(message_of([&] { require_known_labels(read_delimited(test), test, tr.labels); }),
              AllOf(HasSubstr(test + ":4: label 'neutral'"), HasSubstr("2 labels of the training file (neg, pos)")));
  EXPECT_NO_THROW(require_known_labels(read_delimited(train), train, tr.labels));
}

TEST_F(BadBytes, ATagOnlyTheTestFileHasIsRejectedWithItsSentence) {
  const std::string train = write("train.conll", "the DT\ndog NN\n\n");
  const std::string test = write("test.conll", "the DT\ndog NN\n\na DT\nrun VB\n");
  const TaggingDataset tr = read_conll(train);
  EXPECT_THAT(message_of([&] { require_known_tags(read_conll(test), test, tr.tags); }),
              AllOf(HasSubstr(test + ":4: tag 'VB' (token 2"), HasSubstr("word 'run'")));
}
