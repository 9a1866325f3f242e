// datamux/serve/dispatcher.hpp - the thread that runs the models. Per backbone pass it asks the policy
// for N given the queue, takes up to N inputs, fills the row by duplicating real inputs when fewer
// are queued (their outputs dropped), runs the pass, times it (ServiceTimes) and completes the requests.
// All model work happens on this one thread, so the models need no locking. When the queue is empty
// after a pass, a model not timed for a second is timed once on a typical input: a service time
// measured while the machine was busy (at warm-up, or by a burst) does not stay in the table because
// its model is never chosen.
#pragma once

#include <datamux/serve/bundle.hpp>
#include <datamux/serve/metrics.hpp>
#include <datamux/serve/policy.hpp>
#include <datamux/serve/request_queue.hpp>

#include <thread>

namespace datamux::serve {

class Dispatcher {
 public:
  Dispatcher(Bundle& bundle, RequestQueue& queue, ServiceTimes& times, Policy policy, Metrics& metrics, int omp_threads);
  ~Dispatcher();
  /// Times `passes` passes of every model on a typical input (after one untimed pass) into the table.
  void warm_up(int passes);
  void start();
  /// Returns once the queue is closed and drained.
  void join();

 private:
  void loop();
  void serve_group(std::vector<QueueItem>& items, int64_t n);
  double time_pass(ServedModel& model);  // one pass on the typical input, seconds
  void refresh_one_stale_time();

  Bundle& bundle_;
  RequestQueue& queue_;
  ServiceTimes& times_;
  Policy policy_;
  Metrics& metrics_;
  int omp_threads_;
  EncodedInput typical_;  // full length: a pass costs the same for any content
  std::vector<Clock::time_point> last_timed_;  // per model, in bundle order
  std::thread thread_;
};

}  // namespace datamux::serve
