// The per-run lock: exclusive while held, released by close and by the death of its holder (SIGKILL).
#include <datamux/sweep/run_folder.hpp>
#include <gtest/gtest.h>

#include "sweep_test_util.hpp"

using namespace datamux::runtime::sweep;

TEST(RunLock, ExclusiveUntilReleased) {
  auto dir = (datamux::testing::sweep_scratch("lock") / "run").string();
  {
    auto held = RunLock::try_acquire(dir);
    ASSERT_TRUE(held);
    EXPECT_FALSE(RunLock::try_acquire(dir)) << "a second holder while the first holds it";
  }
  EXPECT_TRUE(RunLock::try_acquire(dir)) << "released when the holder goes away";
}

TEST(RunLock, ReleasedWhenTheHolderIsKilled) {
  auto dir = (datamux::testing::sweep_scratch("lock-kill") / "run").string();
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    auto l = RunLock::try_acquire(dir);
    char c = l ? 'y' : 'n';
    (void)!::write(ready[1], &c, 1);
    ::pause();
    ::_exit(0);
  }
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  ASSERT_EQ(c, 'y');
  EXPECT_FALSE(RunLock::try_acquire(dir)) << "held by the child";
  ::kill(pid, SIGKILL);
  datamux::testing::wait_exit(pid);
  EXPECT_TRUE(RunLock::try_acquire(dir)) << "the kernel released the dead child's lock";
}

TEST(RunFolder, FinishedOnlyWithCompleteResultsAndClearKeepsTheLock) {
  namespace fs = std::filesystem;
  auto dir = datamux::testing::sweep_scratch("finished") / "run";
  fs::create_directories(dir);
  EXPECT_FALSE(finished_results(dir.string()));
  std::ofstream(dir / "results.json") << "{\"accuracy\": 0.5, \"inst";  // cut short
  EXPECT_FALSE(finished_results(dir.string()));
  std::ofstream(dir / "results.json") << "{\"loss\": 1.0}";  // not a run's results
  EXPECT_FALSE(finished_results(dir.string()));
  std::ofstream(dir / "results.json") << "{\"accuracy\": 0.5}";
  EXPECT_TRUE(finished_results(dir.string()));

  auto lock = RunLock::try_acquire(dir.string());
  ASSERT_TRUE(lock);
  fs::create_directories(dir / "sub");
  std::ofstream(dir / "model.safetensors.tmp") << "x";
  clear_attempt(dir.string());
  std::vector<std::string> left;
  for (const auto& e : fs::directory_iterator(dir)) left.push_back(e.path().filename().string());
  EXPECT_EQ(left, std::vector<std::string>{".lock"});
  EXPECT_FALSE(RunLock::try_acquire(dir.string())) << "the lock survives the clearing";
}
