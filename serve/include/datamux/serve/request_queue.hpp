// datamux/serve/request_queue.hpp - the bounded queue between the HTTP threads and the dispatcher.
//
// A request of k inputs enters whole or not at all: when fewer than k places are free (or the queue is
// closed for shutdown) try_push refuses it and the HTTP layer answers 429 (503 when closed), so memory
// never grows with the offered load. The dispatcher takes up to N live inputs per pass; inputs of a
// request that gave up (timed out) are dropped when reached.
#pragma once

#include <datamux/serve/bundle.hpp>
#include <datamux/serve/policy.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <vector>

namespace datamux::serve {

using Clock = std::chrono::steady_clock;

/// What one input came back with.
struct InputResult {
  int64_t instances = 0;      // the N of the pass that served it
  std::vector<float> probs;   // [C], or [L * C] for token tasks
};

/// One HTTP request in flight: its inputs, their results, and a promise kept when the last is done.
struct PendingRequest {
  explicit PendingRequest(std::vector<EncodedInput> in);
  std::vector<EncodedInput> inputs;
  std::vector<InputResult> results;
  Clock::time_point arrived = Clock::now();
  std::atomic<int64_t> remaining;
  std::atomic<bool> abandoned{false};  // the HTTP thread stopped waiting (timeout)
  std::promise<void> done;
  /// Stores input `index`'s result; keeps the promise when it was the last one.
  void complete(std::size_t index, InputResult r);
};

struct QueueItem {
  std::shared_ptr<PendingRequest> request;
  std::size_t index = 0;
  const EncodedInput& input() const { return request->inputs[index]; }
};

class RequestQueue {
 public:
  enum class Push { Accepted, Full, Closed };
  explicit RequestQueue(std::size_t capacity);

  Push try_push(const std::shared_ptr<PendingRequest>& request);
  /// Blocks until inputs are queued (or the queue is closed and empty: returns {}), asks `choose` for N
  /// given the queue's state, and takes up to N live inputs in arrival order. Inputs whose request was
  /// abandoned are dropped on the way (their count goes to `dropped`).
  std::vector<QueueItem> take(const std::function<int64_t(const QueueState&)>& choose, int64_t& chosen_n,
                              int64_t& dropped);
  /// Inputs accepted per second lately: an exponentially decaying count (time constant 0.5 s).
  double arrival_rate() const;
  /// No more pushes; take() returns what is queued, then {}.
  void close();
  bool closed() const;
  std::size_t depth() const;
  std::size_t capacity() const { return capacity_; }

 private:
  const std::size_t capacity_;
  mutable std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<QueueItem> items_;
  bool closed_ = false;
  double rate_ = 0;  // decayed to rate_at_
  Clock::time_point rate_at_ = Clock::now();
  double rate_now(Clock::time_point now) const;
};

}  // namespace datamux::serve
