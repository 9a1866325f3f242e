// Learning-rate schedules at chosen steps (peak 1 so values read as fractions of the peak).
#include <gtest/gtest.h>

#include <cmath>
#include <datamux/core/schedule.hpp>
#include <numbers>
#include <stdexcept>

using namespace datamux;

TEST(Schedule, ConstantWithoutWarmupIsThePeakEverywhere) {
  WarmupConstant s(3e-4);
  EXPECT_DOUBLE_EQ(s.lr_at(0), 3e-4);
  EXPECT_DOUBLE_EQ(s.lr_at(1), 3e-4);
  EXPECT_DOUBLE_EQ(s.lr_at(1000000), 3e-4);
}

TEST(Schedule, WarmupRisesLinearlyFromZero) {
  WarmupConstant s(2.0, 4);
  EXPECT_DOUBLE_EQ(s.lr_at(0), 0.0);
  EXPECT_DOUBLE_EQ(s.lr_at(1), 0.5);
  EXPECT_DOUBLE_EQ(s.lr_at(3), 1.5);
  EXPECT_DOUBLE_EQ(s.lr_at(4), 2.0);
  EXPECT_DOUBLE_EQ(s.lr_at(500), 2.0);
}

TEST(Schedule, LinearDecaysToZeroAtTotal) {
  // Warm-up 10, total 110: the decay runs over 100 steps.
  WarmupLinear s(1.0, 10, 110);
  EXPECT_DOUBLE_EQ(s.lr_at(0), 0.0);
  EXPECT_DOUBLE_EQ(s.lr_at(5), 0.5);
  EXPECT_DOUBLE_EQ(s.lr_at(10), 1.0);
  EXPECT_DOUBLE_EQ(s.lr_at(35), 0.75);
  EXPECT_DOUBLE_EQ(s.lr_at(60), 0.5);
  EXPECT_NEAR(s.lr_at(109), 0.01, 1e-15);
  EXPECT_DOUBLE_EQ(s.lr_at(110), 0.0);
  EXPECT_DOUBLE_EQ(s.lr_at(1000), 0.0);
}

TEST(Schedule, LinearDecaysToAFloor) {
  WarmupLinear s(1.0, 10, 110, 0.1);
  EXPECT_DOUBLE_EQ(s.lr_at(10), 1.0);
  EXPECT_DOUBLE_EQ(s.lr_at(60), 0.55);  // 0.1 + 0.9 * 0.5
  EXPECT_DOUBLE_EQ(s.lr_at(110), 0.1);
  EXPECT_DOUBLE_EQ(s.lr_at(5000), 0.1);
}

TEST(Schedule, CosineFollowsHalfACosine) {
  WarmupCosine s(1.0, 10, 110);
  EXPECT_DOUBLE_EQ(s.lr_at(5), 0.5);
  EXPECT_DOUBLE_EQ(s.lr_at(10), 1.0);
  EXPECT_NEAR(s.lr_at(35), 0.5 * (1.0 + std::cos(std::numbers::pi / 4)), 1e-12);  // 0.853553...
  EXPECT_NEAR(s.lr_at(60), 0.5, 1e-12);
  EXPECT_NEAR(s.lr_at(85), 0.5 * (1.0 - std::cos(std::numbers::pi / 4)), 1e-12);  // 0.146446...
  EXPECT_NEAR(s.lr_at(110), 0.0, 1e-12);
  EXPECT_NEAR(s.lr_at(300), 0.0, 1e-12);  // stays down: no second half-period
}

TEST(Schedule, CosineDecaysToAFloor) {
  WarmupCosine s(1.0, 0, 100, 0.2);
  EXPECT_DOUBLE_EQ(s.lr_at(0), 1.0);
  EXPECT_NEAR(s.lr_at(50), 0.6, 1e-12);  // 0.2 + 0.8 * 0.5
  EXPECT_NEAR(s.lr_at(100), 0.2, 1e-12);
}

TEST(Schedule, WarmupLongerThanTotalNeverDecays) {
  // As Hugging Face's linear schedule: warm-up still ramps, and past it the decay is already over.
  WarmupLinear s(1.0, 20, 10);
  EXPECT_DOUBLE_EQ(s.lr_at(10), 0.5);
  EXPECT_DOUBLE_EQ(s.lr_at(20), 0.0);
}

TEST(Schedule, RejectsBadArguments) {
  EXPECT_THROW(WarmupConstant(-1.0), std::invalid_argument);
  EXPECT_THROW(WarmupConstant(1.0, -1), std::invalid_argument);
  EXPECT_THROW(WarmupLinear(1.0, 0, -5), std::invalid_argument);
  EXPECT_THROW(WarmupLinear(1.0, 0, 10, 2.0), std::invalid_argument);
  EXPECT_THROW(WarmupCosine(1.0, 0, 10, -0.1), std::invalid_argument);
  EXPECT_THROW(WarmupCosine(NAN, 0, 10), std::invalid_argument);
  EXPECT_THROW(WarmupConstant(1.0).lr_at(-1), std::invalid_argument);
}

TEST(Schedule, DescribesItself) {
  EXPECT_EQ(WarmupConstant(0.5).describe(), "constant lr 0.5");
  EXPECT_EQ(WarmupCosine(0.001, 100, 1000).describe(),
            "linear warm-up 100 steps to lr 0.001, cosine decay to 0 at step 1000");
}
