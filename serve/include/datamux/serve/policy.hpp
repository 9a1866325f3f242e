// datamux/serve/policy.hpp - which N serves the next backbone pass. A pure function of the queue and
// the service-time table, so it is tested on made-up numbers (tests/serve/test_policy.cpp).
//
// fixed:   always N = K.
// latency: the smallest N whose passes keep the queue within the target: with q inputs queued, the
//          oldest waiting w seconds, inputs arriving at r per second and s(N) seconds per pass, N fits when
//              N / s(N) >= 2 r   (it keeps up with the arrivals at most half busy: the HTTP threads
//                                 and the JSON work share the same cores),
//              w + s(N) <= target   (the oldest input is answered in time)  and
//              ceil(q / N) * s(N) <= target   (so is the last one queued, N per pass).
//          Low load (q = 1, r small) gives the smallest N; as q or r grows, denser models fit. When none
//          fits (overload), among the models that keep up (or else the one with the highest N / s(N))
//          the N that empties the queue soonest, min over N of ceil(q / N) * s(N): the densest model
//          once q is large.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace datamux::serve {

struct Policy {
  enum class Kind { Fixed, Latency } kind = Kind::Latency;
  int64_t fixed_n = 1;      // Fixed
  double target_s = 0.05;   // Latency: target for queue wait plus service, seconds
  std::string describe() const;
};

struct QueueState {
  int64_t queued = 0;        // inputs waiting
  double oldest_wait_s = 0;  // how long the oldest of them has waited
  double arrival_rate = 0;   // inputs per second lately (0: not known, no constraint)
};

/// Headroom of the latency policy: a model keeps up when N / s(N) >= kHeadroom * arrival rate.
inline constexpr double kHeadroom = 2.0;

/// `ns` ascending, `service_s[i]` the measured seconds of one pass of model ns[i]. queued >= 1.
int64_t choose_instances(const Policy& policy, const std::vector<int64_t>& ns, const std::vector<double>& service_s,
                         const QueueState& queue);

/// Seconds per pass for each N: set by the start-up warm-up, then an exponentially weighted moving
/// average of the passes served (weight `alpha` on the newest), so the table follows the machine's load.
class ServiceTimes {
 public:
  ServiceTimes(std::vector<int64_t> ns, double alpha = 0.2);
  void set(int64_t n, double seconds);      // warm-up measurement
  void observe(int64_t n, double seconds);  // one served pass
  std::vector<double> table() const;        // in the order of ns()
  double get(int64_t n) const;
  const std::vector<int64_t>& ns() const { return ns_; }

 private:
  std::size_t index(int64_t n) const;
  std::vector<int64_t> ns_;
  std::vector<double> seconds_;
  double alpha_;
  mutable std::mutex mutex_;
};

}  // namespace datamux::serve
