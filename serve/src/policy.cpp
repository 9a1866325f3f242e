// The scheduling policy and the service-time table.
#include <datamux/serve/policy.hpp>

#include <fmt/format.h>

#include <limits>
#include <stdexcept>

namespace datamux::serve {

std::string Policy::describe() const {
  if (kind == Kind::Fixed) return fmt::format("fixed N = {}", fixed_n);
  return fmt::format("latency, target {:.0f} ms", target_s * 1e3);
}

int64_t choose_instances(const Policy& policy, const std::vector<int64_t>& ns, const std::vector<double>& service_s,
                         const QueueState& q) {
  if (ns.empty() || ns.size() != service_s.size()) throw std::invalid_argument("choose_instances: empty or uneven table");
  if (policy.kind == Policy::Kind::Fixed) return policy.fixed_n;
  const int64_t queued = std::max<int64_t>(q.queued, 1);
  auto drain_s = [&](std::size_t i) { return static_cast<double>((queued + ns[i] - 1) / ns[i]) * service_s[i]; };
  auto capacity = [&](std::size_t i) { return static_cast<double>(ns[i]) / std::max(service_s[i], 1e-9); };
  // The models that keep up with the arrivals; when none does, the one that comes closest.
  std::vector<std::size_t> keep_up;
  std::size_t densest = 0;
  for (std::size_t i = 0; i < ns.size(); ++i) {
    if (capacity(i) >= kHeadroom * q.arrival_rate) keep_up.push_back(i);
    if (capacity(i) > capacity(densest)) densest = i;
  }
  if (keep_up.empty()) keep_up.push_back(densest);
  for (std::size_t i : keep_up)
    if (q.oldest_wait_s + service_s[i] <= policy.target_s && drain_s(i) <= policy.target_s) return ns[i];
  std::size_t best = keep_up.front();
  for (std::size_t i : keep_up)
    if (drain_s(i) < drain_s(best)) best = i;
  return ns[best];
}

ServiceTimes::ServiceTimes(std::vector<int64_t> ns, double alpha)
    : ns_(std::move(ns)), seconds_(ns_.size(), 0.0), alpha_(alpha) {}

std::size_t ServiceTimes::index(int64_t n) const {
  for (std::size_t i = 0; i < ns_.size(); ++i)
    if (ns_[i] == n) return i;
  throw std::out_of_range(fmt::format("no service time for N = {}", n));
}

void ServiceTimes::set(int64_t n, double seconds) {
  std::lock_guard lock(mutex_);
  seconds_[index(n)] = seconds;
}

void ServiceTimes::observe(int64_t n, double seconds) {
  std::lock_guard lock(mutex_);
  double& s = seconds_[index(n)];
  s = s > 0 ? (1 - alpha_) * s + alpha_ * seconds : seconds;
}

std::vector<double> ServiceTimes::table() const {
  std::lock_guard lock(mutex_);
  return seconds_;
}

double ServiceTimes::get(int64_t n) const {
  std::lock_guard lock(mutex_);
  return seconds_[index(n)];
}

}  // namespace datamux::serve
