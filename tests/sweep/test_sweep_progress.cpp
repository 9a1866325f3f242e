// Sweep progress: a run's step from its log, the bar, and the ETA from finished and running runs.
#include <datamux/sweep/progress.hpp>
#include <gtest/gtest.h>

#include "sweep_test_util.hpp"

using namespace datamux::runtime::sweep;

TEST(SweepProgress, ReadsTheLastStepLineOfARunLog) {
  auto dir = datamux::testing::sweep_scratch("progress-log");
  auto log = (dir / "run.log").string();
  EXPECT_FALSE(read_run_progress(log).has_value()) << "no log yet";
  std::ofstream(log) << "task    retrieval\nmodel   N = 4\n";
  EXPECT_FALSE(read_run_progress(log).has_value()) << "no step line yet";
  {
    std::ofstream out(log, std::ios::app);
    out << "step 25/400  loss 4.6450  acc 0.0192  5313 ex/s  ETA 5s\n";
    // A long log: only the tail is read, and the last step line wins.
    for (int i = 26; i <= 300; ++i) out << "step " << i << "/400  loss 1.0  acc 0.5  5000 ex/s  ETA 1s\n";
    out << "step    300  validation accuracy 0.6797  loss 1.9675\n";
  }
  auto p = read_run_progress(log);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->step, 300);
  EXPECT_EQ(p->total, 400);
  EXPECT_DOUBLE_EQ(p->fraction(), 0.75);
}

TEST(SweepProgress, BarFillsWithTheFraction) {
  EXPECT_EQ(progress_bar(0.0, 10), "[..........]");
  EXPECT_EQ(progress_bar(0.5, 10), "[#####.....]");
  EXPECT_EQ(progress_bar(1.0, 10), "[##########]");
  EXPECT_EQ(progress_bar(7.0, 4), "[####]");
  EXPECT_EQ(progress_bar(-1.0, 4), "[....]");
}

TEST(SweepProgress, EtaCountsQueuedRunsAtTheMeanAndRunningRunsAtTheirPace) {
  // Nothing to go by: no finished run, the running one has not logged a step.
  EXPECT_FALSE(estimate_seconds_left({}, 3, {{2.0, 0.0}}, 1).has_value());
  // Finished runs took 10 and 20 s (mean 15); 2 queued; one running at 25% after 5 s (15 s left).
  auto left = estimate_seconds_left({10, 20}, 2, {{5.0, 0.25}}, 1);
  ASSERT_TRUE(left.has_value());
  EXPECT_DOUBLE_EQ(*left, 2 * 15 + 15);
  // Two at a time halve it.
  EXPECT_DOUBLE_EQ(*estimate_seconds_left({10, 20}, 2, {{5.0, 0.25}}, 2), (2 * 15 + 15) / 2.0);
  // Before any run finished, the running run's pace stands for the queued ones: 8 s per run.
  EXPECT_DOUBLE_EQ(*estimate_seconds_left({}, 3, {{4.0, 0.5}}, 1), 4 + 3 * 8);
  // A run without a step yet counts as the mean minus what it has run, never below 0.
  EXPECT_DOUBLE_EQ(*estimate_seconds_left({10}, 0, {{3.0, 0.0}}, 1), 7);
  EXPECT_DOUBLE_EQ(*estimate_seconds_left({10}, 0, {{30.0, 0.0}}, 1), 0);
  EXPECT_DOUBLE_EQ(*estimate_seconds_left({10}, 0, {}, 1), 0);
}
