// IDX reader and image sets: values and dims of good files (plain and gzip, every element type), and
// one InputError per kind of broken file, each naming the file.
#include <datamux/data/idx.hpp>
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

std::string fixture(const std::string& name) { return std::string(DATAMUX_TEST_DATA_DIR) + "/idx/" + name; }

}  // namespace

TEST(Idx, PlainAndGzipReadTheSameValues) {
  IdxArray plain = read_idx(fixture("images-3x2x3.idx"));
  IdxArray gz = read_idx(fixture("images-3x2x3.idx.gz"));
  EXPECT_EQ(plain.type, IdxType::u8);
  EXPECT_EQ(plain.dims, (std::vector<int64_t>{3, 2, 3}));
  ASSERT_EQ(plain.values.size(), 18u);
  EXPECT_FLOAT_EQ(plain.values[0], 0.f);
  EXPECT_FLOAT_EQ(plain.values[7], 11.f);  // image 1, pixel 1
  EXPECT_FLOAT_EQ(plain.values[17], 255.f);
  EXPECT_EQ(plain.values, gz.values);
  EXPECT_EQ(plain.dims, gz.dims);
}

TEST(Idx, WiderTypesAreBigEndianAndSigned) {
  IdxArray i16 = read_idx(fixture("values-i16.idx"));
  EXPECT_EQ(i16.type, IdxType::i16);
  EXPECT_EQ(i16.values, (std::vector<float>{-2.f, 300.f, -32768.f, 7.f}));
  IdxArray i32 = read_idx(fixture("values-i32.idx"));
  EXPECT_EQ(i32.values, (std::vector<float>{-70000.f, 0.f, 16777216.f}));
  IdxArray f32 = read_idx(fixture("values-f32.idx"));
  EXPECT_EQ(f32.values, (std::vector<float>{1.5f, -0.25f}));
  IdxArray f64 = read_idx(fixture("values-f64.idx"));
  EXPECT_EQ(f64.dims, (std::vector<int64_t>{1, 2}));
  EXPECT_FLOAT_EQ(f64.values[0], 3.25f);
  EXPECT_FLOAT_EQ(f64.values[1], -1e-3f);
}

TEST(Idx, WrongMagicIsRejected) {
  EXPECT_THAT([] { read_idx(fixture("bad-magic.idx")); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("bad-magic.idx"), HasSubstr("not an IDX file"),
                                              HasSubstr("50 4b 03 04"))));
  EXPECT_THAT([] { read_idx(fixture("bad-type.idx")); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("bad-type.idx"), HasSubstr("00 00 07 01"))));
}

TEST(Idx, EmptyFileIsTooShort) {
  EXPECT_THAT([] { read_idx(fixture("empty.idx")); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("empty.idx"), HasSubstr("too short"))));
}

TEST(Idx, TruncatedHeaderIsRejected) {
  EXPECT_THAT([] { read_idx(fixture("truncated-header.idx")); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("truncated-header.idx"), HasSubstr("truncated header"))));
}

TEST(Idx, TruncatedDataSaysHowMuchIsMissing) {
  EXPECT_THAT([] { read_idx(fixture("truncated.idx")); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("truncated.idx"), HasSubstr("truncated"),
                                              HasSubstr("18 u8 values"), HasSubstr("the file has 10"))));
}

TEST(Idx, TruncatedGzipIsRejected) {
  EXPECT_THAT([] { read_idx(fixture("truncated.idx.gz")); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("truncated.idx.gz"), HasSubstr("truncated"))));
}

TEST(Idx, CorruptGzipIsRejected) {
  EXPECT_THAT([] { read_idx(fixture("corrupt.idx.gz")); }, ThrowsMessage<InputError>(HasSubstr("corrupt.idx.gz")));
}

TEST(Idx, TrailingBytesAreRejected) {
  EXPECT_THAT([] { read_idx(fixture("trailing.idx")); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("trailing.idx"), HasSubstr("byte 34"),
                                              HasSubstr("after the values"))));
}

TEST(Idx, MissingFileIsNamed) {
  EXPECT_THAT([] { read_idx(fixture("no-such.idx")); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("no-such.idx"), HasSubstr("no such file"))));
}

TEST(ImageSet, ScalesPixelsAndPairsLabels) {
  ImageSet set = read_idx_images(fixture("images-3x2x3.idx.gz"), fixture("labels-3.idx.gz"));
  EXPECT_EQ(set.size(), 3);
  EXPECT_EQ(set.rows, 2);
  EXPECT_EQ(set.cols, 3);
  EXPECT_EQ(set.labels, (std::vector<int32_t>{0, 9, 4}));
  EXPECT_FLOAT_EQ(set.pixels[7], 11.f / 255.f);
  EXPECT_FLOAT_EQ(set.pixels[17], 1.f);
}

TEST(ImageSet, SubsetCopiesImagesInOrder) {
  ImageSet set = read_idx_images(fixture("images-3x2x3.idx"), fixture("labels-3.idx.gz"));
  ImageSet sub = set.subset({2, 0});
  EXPECT_EQ(sub.labels, (std::vector<int32_t>{4, 0}));
  EXPECT_FLOAT_EQ(sub.pixels[0], 20.f / 255.f);
  EXPECT_FLOAT_EQ(sub.pixels[6], 0.f);
  EXPECT_THROW(set.subset({3}), std::out_of_range);
}

TEST(ImageSet, CountMismatchNamesBothFiles) {
  EXPECT_THAT([] { read_idx_images(fixture("images-3x2x3.idx"), fixture("labels-4.idx")); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("labels-4.idx"), HasSubstr("4 labels"),
                                              HasSubstr("images-3x2x3.idx"), HasSubstr("3 images"))));
}

TEST(ImageSet, WrongRanksAreRejected) {
  EXPECT_THAT([] { read_idx_images(fixture("labels-4.idx"), fixture("labels-3.idx.gz")); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("labels-4.idx"), HasSubstr("3 dimensions"))));
  EXPECT_THAT([] { read_idx_images(fixture("images-3x2x3.idx"), fixture("labels-2d.idx")); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("labels-2d.idx"), HasSubstr("1 dimension"))));
}

TEST(FashionMnist, LoadsASplitFromAFolder) {
  ImageSet train = load_fashion_mnist("train", fixture("fashion-mini"));
  EXPECT_EQ(train.size(), 3);
  EXPECT_EQ(train.labels[1], 9);
}

TEST(FashionMnist, MissingFileSaysWhichPackageProvidesIt) {
  EXPECT_THAT([] { load_fashion_mnist("test", fixture("fashion-mini")); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("t10k-images-idx3-ubyte.gz"), HasSubstr("no such file"),
                                              HasSubstr("dataset-fashion-mnist"), HasSubstr("scripts/setup.sh"))));
}

TEST(FashionMnist, UnknownSplitIsRejected) {
  EXPECT_THAT([] { load_fashion_mnist("validation", fixture("fashion-mini")); },
              ThrowsMessage<InputError>(HasSubstr("'train' and 'test'")));
}
