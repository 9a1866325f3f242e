// Private to the runtime: SIGINT and SIGTERM stop a training run at the next step boundary.
//
// While an InterruptGuard lives, the first SIGINT or SIGTERM only records the signal; the training
// loop polls pending_interrupt() between steps, saves a checkpoint and the results marked
// "interrupted", and the command exits 128 + the signal (130, 143). A second signal is not caught
// (the previous handler is back), so pressing Ctrl-C twice stops at once.
#pragma once

namespace datamux::runtime::detail {

class InterruptGuard {
 public:
  InterruptGuard();
  ~InterruptGuard();
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;
};

/// The signal received under the guard (SIGINT or SIGTERM), or 0.
int pending_interrupt();
/// "SIGINT", "SIGTERM".
const char* signal_name(int sig);

}  // namespace datamux::runtime::detail
