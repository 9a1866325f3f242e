// Train/validation/test splits: sizes, a partition of 0..n-1, same seed same split, other seed other split.
#include <datamux/data/split.hpp>
#include <datamux/options.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>

using namespace datamux;
using namespace datamux::data;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

TEST(Split, SizesRoundAndPartsPartitionTheIndices) {
  Split s = split_indices(1000, 0.1, 0.25, 7);
  EXPECT_EQ(s.validation.size(), 100u);
  EXPECT_EQ(s.test.size(), 250u);
  EXPECT_EQ(s.train.size(), 650u);
  std::set<int64_t> all;
  for (const auto* part : {&s.train, &s.validation, &s.test}) {
    EXPECT_TRUE(std::is_sorted(part->begin(), part->end()));
    all.insert(part->begin(), part->end());
  }
  EXPECT_EQ(all.size(), 1000u);
  EXPECT_EQ(*all.begin(), 0);
  EXPECT_EQ(*all.rbegin(), 999);
}

TEST(Split, SameSeedSameSplitOtherSeedOther) {
  Split a = split_indices(500, 0.2, 0.1, 42);
  Split b = split_indices(500, 0.2, 0.1, 42);
  Split c = split_indices(500, 0.2, 0.1, 43);
  EXPECT_EQ(a.train, b.train);
  EXPECT_EQ(a.validation, b.validation);
  EXPECT_EQ(a.test, b.test);
  EXPECT_NE(a.validation, c.validation);
}

TEST(Split, IsShuffledNotAPrefix) {
  Split s = split_indices(1000, 0.0, 0.5, 1);
  // A shuffle puts about half of the low indices in test; a cut without shuffling would put all.
  const auto low = std::count_if(s.test.begin(), s.test.end(), [](int64_t i) { return i < 500; });
  EXPECT_GT(low, 200);
  EXPECT_LT(low, 300);
}

TEST(Split, ZeroFractionsKeepEverythingForTraining) {
  Split s = split_indices(5, 0.0, 0.0, 3);
  EXPECT_EQ(s.train, (std::vector<int64_t>{0, 1, 2, 3, 4}));
  EXPECT_TRUE(s.validation.empty());
  EXPECT_TRUE(s.test.empty());
  EXPECT_TRUE(split_indices(0, 0.1, 0.1, 3).train.empty());
}

TEST(Split, RejectsBadFractions) {
  EXPECT_THAT([] { split_indices(10, -0.1, 0.0, 0); }, ThrowsMessage<InputError>(HasSubstr("validation_fraction")));
  EXPECT_THAT([] { split_indices(10, 0.0, 1.0, 0); }, ThrowsMessage<InputError>(HasSubstr("test_fraction")));
  EXPECT_THAT([] { split_indices(10, 0.1, std::nan(""), 0); }, ThrowsMessage<InputError>(HasSubstr("test_fraction")));
  EXPECT_THAT([] { split_indices(10, 0.5, 0.5, 0); }, ThrowsMessage<InputError>(HasSubstr("none to train on")));
}
