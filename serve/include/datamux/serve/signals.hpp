// datamux/serve/signals.hpp - SIGTERM and SIGINT as a graceful stop for `datamux serve`.
//
// block_stop_signals() must run before any thread is started (threads inherit the mask), so that the
// signals reach only wait_for_stop_signal()'s sigwait and never interrupt a request half way.
#pragma once

namespace datamux::serve {

void block_stop_signals();
/// Blocks until SIGTERM or SIGINT arrives; returns its number.
int wait_for_stop_signal();

}  // namespace datamux::serve
