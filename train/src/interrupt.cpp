// SIGINT/SIGTERM recorded for the training loop (see interrupt.hpp).
#include "interrupt.hpp"

#include <signal.h>

#include <atomic>

namespace datamux::runtime::detail {
namespace {

volatile sig_atomic_t g_signal = 0;
struct sigaction g_previous_int {}, g_previous_term {};

// Async-signal-safe: records the signal and puts the previous handlers back for a second one.
extern "C" void on_signal(int sig) {
  g_signal = sig;
  ::sigaction(SIGINT, &g_previous_int, nullptr);
  ::sigaction(SIGTERM, &g_previous_term, nullptr);
}

}  // namespace

InterruptGuard::InterruptGuard() {
  g_signal = 0;
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;  // file writes and reads carry on; the loop polls between steps
  ::sigaction(SIGINT, &sa, &g_previous_int);
  ::sigaction(SIGTERM, &sa, &g_previous_term);
}

InterruptGuard::~InterruptGuard() {
  ::sigaction(SIGINT, &g_previous_int, nullptr);
  ::sigaction(SIGTERM, &g_previous_term, nullptr);
}

int pending_interrupt() { return g_signal; }

const char* signal_name(int sig) {
  if (sig == SIGINT) return "SIGINT";
  if (sig == SIGTERM) return "SIGTERM";
  return "signal";
}

}  // namespace datamux::runtime::detail
