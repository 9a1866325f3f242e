// The scheduling policy as a pure function: which N for a given queue and service-time table, and the
// service-time table's moving average. Times are made up (a fake clock), so nothing here is flaky.
#include <datamux/serve/policy.hpp>
#include <datamux/serve/request_queue.hpp>
#include <gtest/gtest.h>

namespace datamux::serve {
namespace {

const std::vector<int64_t> kNs = {1, 2, 5, 10};
// Seconds per pass: a denser model costs a little more per pass but far less per input.
const std::vector<double> kService = {0.002, 0.0022, 0.0028, 0.004};

Policy latency(double target_ms) {
  Policy p;
  p.kind = Policy::Kind::Latency;
  p.target_s = target_ms / 1e3;
  return p;
}

TEST(Policy, FixedAlwaysServesItsN) {
  Policy p;
  p.kind = Policy::Kind::Fixed;
  p.fixed_n = 5;
  for (int64_t q : {1, 3, 100}) EXPECT_EQ(choose_instances(p, kNs, kService, {q, 0.5}), 5);
}

TEST(Policy, LowLoadServesTheSmallestN) {
  EXPECT_EQ(choose_instances(latency(10), kNs, kService, {1, 0.0}), 1);
  // Four queued inputs at N = 1 take 8 ms: still within 10 ms.
  EXPECT_EQ(choose_instances(latency(10), kNs, kService, {4, 0.001}), 1);
}

TEST(Policy, RisesWithTheQueue) {
  // 6 inputs: N = 1 needs 12 ms > 10; N = 2 needs 3 passes * 2.2 = 6.6 ms.
  EXPECT_EQ(choose_instances(latency(10), kNs, kService, {6, 0.0}), 2);
  // 12 inputs: N = 2 needs 13.2 ms; N = 5 needs 3 * 2.8 = 8.4 ms.
  EXPECT_EQ(choose_instances(latency(10), kNs, kService, {12, 0.0}), 5);
  // 20 inputs: N = 5 needs 11.2 ms; N = 10 needs 8 ms.
  EXPECT_EQ(choose_instances(latency(10), kNs, kService, {20, 0.0}), 10);
}

TEST(Policy, TheOldestInputsWaitCounts) {
  // One input that already waited 9 ms: N = 1 answers it at 11 ms > 10, and so does every N; the
  // fallback picks the pass that clears the queue soonest, N = 1 (2 ms).
  EXPECT_EQ(choose_instances(latency(10), kNs, kService, {1, 0.009}), 1);
  // Three inputs, the oldest at 7.9 ms: at N = 1 it is answered at 9.9 ms and the last at 6 ms: fits.
  EXPECT_EQ(choose_instances(latency(10), kNs, kService, {3, 0.0079}), 1);
}

TEST(Policy, OverloadServesTheDensestModel) {
  // 500 inputs cannot be served within 10 ms by any N: the densest clears the queue soonest.
  EXPECT_EQ(choose_instances(latency(10), kNs, kService, {500, 0.2}), 10);
  // Unless, on this machine, the dense model is so slow that a mid-size one drains faster.
  const std::vector<double> slow_dense = {0.002, 0.0022, 0.0028, 0.02};
  EXPECT_EQ(choose_instances(latency(10), kNs, slow_dense, {500, 0.2}), 5);
}

TEST(Policy, FollowsTheMeasuredTimes) {
  // The same queue, a machine where N = 1 got slow: the policy moves up earlier.
  const std::vector<double> busy = {0.006, 0.0066, 0.0084, 0.012};
  EXPECT_EQ(choose_instances(latency(10), kNs, kService, {3, 0.0}), 1);
  EXPECT_EQ(choose_instances(latency(10), kNs, busy, {3, 0.0}), 5);  // 2 passes of 6.6 ms > 10; 1 of 8.4
}

TEST(Policy, KeepsUpWithTheArrivalRate) {
  // Capacities N / s(N): 500, 909, 1786, 2500 inputs/s. One input waiting but 300 arriving per second:
  // N = 1 would be more than half busy (500 < 2 * 300), N = 2 is not.
  EXPECT_EQ(choose_instances(latency(10), kNs, kService, {1, 0.0, 100}), 1);
  EXPECT_EQ(choose_instances(latency(10), kNs, kService, {1, 0.0, 300}), 2);
  EXPECT_EQ(choose_instances(latency(10), kNs, kService, {1, 0.0, 600}), 5);
  EXPECT_EQ(choose_instances(latency(10), kNs, kService, {1, 0.0, 1000}), 10);
  // More than any model serves: the densest, whatever the queue.
  EXPECT_EQ(choose_instances(latency(10), kNs, kService, {1, 0.0, 5000}), 10);
}

TEST(Policy, RejectsAnUnevenTable) {
  EXPECT_THROW(choose_instances(latency(10), kNs, {0.1}, {1, 0}), std::invalid_argument);
}

TEST(ServiceTimes, WarmUpThenMovingAverage) {
  ServiceTimes t({1, 4}, 0.5);
  t.set(1, 0.002);
  t.set(4, 0.004);
  t.observe(1, 0.004);  // 0.5 * 0.002 + 0.5 * 0.004
  EXPECT_DOUBLE_EQ(t.get(1), 0.003);
  t.observe(1, 0.003);
  EXPECT_DOUBLE_EQ(t.get(1), 0.003);
  EXPECT_DOUBLE_EQ(t.get(4), 0.004);
  EXPECT_EQ(t.table(), (std::vector<double>{0.003, 0.004}));
  EXPECT_THROW(t.get(2), std::out_of_range);
}

TEST(RequestQueue, AdmitsWholeRequestsUpToItsCapacity) {
  RequestQueue q(5);
  auto req = [](int k) { return std::make_shared<PendingRequest>(std::vector<EncodedInput>(static_cast<std::size_t>(k))); };
  EXPECT_EQ(q.try_push(req(3)), RequestQueue::Push::Accepted);
  EXPECT_EQ(q.try_push(req(3)), RequestQueue::Push::Full);  // 6 > 5: all or nothing
  EXPECT_EQ(q.depth(), 3u);
  EXPECT_EQ(q.try_push(req(2)), RequestQueue::Push::Accepted);
  EXPECT_EQ(q.depth(), 5u);
  EXPECT_GT(q.arrival_rate(), 9.0);  // 5 inputs just now: 5 / 0.5 s, decaying
  EXPECT_LE(q.arrival_rate(), 10.0);

  int64_t n = 0, dropped = 0;
  std::vector<int64_t> seen;
  auto take = [&](int64_t want) {
    return q.take([&](const QueueState& s) { seen.push_back(s.queued); return want; }, n, dropped);
  };
  EXPECT_EQ(take(4).size(), 4u);
  EXPECT_EQ(seen.back(), 5);
  q.close();
  EXPECT_EQ(q.try_push(req(1)), RequestQueue::Push::Closed);
  EXPECT_EQ(take(4).size(), 1u);  // what was queued is still served after close
  EXPECT_TRUE(take(4).empty());   // then: closed and drained
}

TEST(RequestQueue, DropsInputsOfAbandonedRequests) {
  RequestQueue q(8);
  auto gone = std::make_shared<PendingRequest>(std::vector<EncodedInput>(3));
  auto live = std::make_shared<PendingRequest>(std::vector<EncodedInput>(2));
  q.try_push(gone);
  q.try_push(live);
  gone->abandoned = true;
  int64_t n = 0, dropped = 0;
  const auto items = q.take([](const QueueState&) { return int64_t{4}; }, n, dropped);
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].request, live);
  EXPECT_EQ(dropped, 3);
}

}  // namespace
}  // namespace datamux::serve
