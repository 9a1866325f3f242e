// The bounded request queue.
#include <datamux/serve/request_queue.hpp>

#include <chrono>
#include <cmath>

namespace datamux::serve {

PendingRequest::PendingRequest(std::vector<EncodedInput> in)
    : inputs(std::move(in)), results(inputs.size()), remaining(static_cast<int64_t>(inputs.size())) {}

void PendingRequest::complete(std::size_t index, InputResult r) {
  results[index] = std::move(r);
  if (remaining.fetch_sub(1) == 1) done.set_value();
}

RequestQueue::RequestQueue(std::size_t capacity) : capacity_(capacity) {}

namespace {
constexpr double kRateTau = 0.5;  // seconds: how quickly the arrival rate forgets
}

double RequestQueue::rate_now(Clock::time_point now) const {
  return rate_ * std::exp(-std::chrono::duration<double>(now - rate_at_).count() / kRateTau);
}

double RequestQueue::arrival_rate() const {
  std::lock_guard lock(mutex_);
  return rate_now(Clock::now());
}

RequestQueue::Push RequestQueue::try_push(const std::shared_ptr<PendingRequest>& request) {
  {
    std::lock_guard lock(mutex_);
    if (closed_) return Push::Closed;
    if (items_.size() + request->inputs.size() > capacity_) return Push::Full;
    const auto now = Clock::now();
    rate_ = rate_now(now) + static_cast<double>(request->inputs.size()) / kRateTau;
    rate_at_ = now;
    for (std::size_t i = 0; i < request->inputs.size(); ++i) items_.push_back({request, i});
  }
  ready_.notify_one();
  return Push::Accepted;
}

std::vector<QueueItem> RequestQueue::take(const std::function<int64_t(const QueueState&)>& choose, int64_t& chosen_n,
                                          int64_t& dropped) {
  std::unique_lock lock(mutex_);
  std::vector<QueueItem> out;
  dropped = 0;
  while (out.empty()) {
    ready_.wait(lock, [&] { return !items_.empty() || closed_; });
    while (!items_.empty() && items_.front().request->abandoned.load()) {
      items_.pop_front();
      ++dropped;
    }
    if (items_.empty()) {
      if (closed_) return out;
      continue;
    }
    const auto now = Clock::now();
    QueueState state;
    state.queued = static_cast<int64_t>(items_.size());
    state.oldest_wait_s = std::chrono::duration<double>(now - items_.front().request->arrived).count();
    state.arrival_rate = rate_now(now);
    chosen_n = choose(state);
    while (!items_.empty() && static_cast<int64_t>(out.size()) < chosen_n) {
      if (items_.front().request->abandoned.load()) {
        ++dropped;
      } else {
        out.push_back(std::move(items_.front()));
      }
      items_.pop_front();
    }
  }
  return out;
}

void RequestQueue::close() {
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
  }
  ready_.notify_all();
}

bool RequestQueue::closed() const {
  std::lock_guard lock(mutex_);
  return closed_;
}

std::size_t RequestQueue::depth() const {
  std::lock_guard lock(mutex_);
  return items_.size();
}

}  // namespace datamux::serve
