// The dispatcher loop: policy, grouping, padding, the pass, completion.
#include <datamux/serve/dispatcher.hpp>
#include <datamux/serve/inference.hpp>

#include <fmt/format.h>
#include <omp.h>

#include <algorithm>
#include <cstdio>

namespace datamux::serve {

Dispatcher::Dispatcher(Bundle& bundle, RequestQueue& queue, ServiceTimes& times, Policy policy, Metrics& metrics,
                       int omp_threads)
    : bundle_(bundle), queue_(queue), times_(times), policy_(policy), metrics_(metrics), omp_threads_(omp_threads) {
  typical_ = bundle_.typical_input();
  last_timed_.assign(bundle_.models().size(), Clock::now());
}

double Dispatcher::time_pass(ServedModel& m) {
  const std::vector<const EncodedInput*> row(static_cast<std::size_t>(m.instances), &typical_);
  const auto t0 = Clock::now();
  run_row(m, row, bundle_.token_level(), bundle_.labels().size());
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

void Dispatcher::refresh_one_stale_time() {
  const auto now = Clock::now();
  for (std::size_t i = 0; i < last_timed_.size(); ++i) {
    if (now - last_timed_[i] < std::chrono::seconds(1)) continue;
    ServedModel& m = *bundle_.models()[i];
    times_.observe(m.instances, time_pass(m));
    last_timed_[i] = Clock::now();
    return;  // one at a time: a request may be arriving
  }
}

Dispatcher::~Dispatcher() {
  if (thread_.joinable()) {
    queue_.close();
    thread_.join();
  }
}

void Dispatcher::warm_up(int passes) {
  if (omp_threads_ > 0) omp_set_num_threads(omp_threads_);
  for (const auto& m : bundle_.models()) {
    time_pass(*m);  // primitive creation, allocator cache
    std::vector<double> s;
    for (int k = 0; k < std::max(passes, 1); ++k) s.push_back(time_pass(*m));
    std::nth_element(s.begin(), s.begin() + static_cast<std::ptrdiff_t>(s.size() / 2), s.end());
    times_.set(m->instances, s[s.size() / 2]);  // the median: robust to a neighbour's burst
  }
}

void Dispatcher::start() {
  thread_ = std::thread([this] { loop(); });
}

void Dispatcher::join() {
  if (thread_.joinable()) thread_.join();
}

void Dispatcher::loop() {
  if (omp_threads_ > 0) omp_set_num_threads(omp_threads_);
  const std::vector<int64_t> ns = bundle_.instances();
  auto choose = [&](const QueueState& state) { return choose_instances(policy_, ns, times_.table(), state); };
  for (;;) {
    int64_t n = 0, dropped = 0;
    std::vector<QueueItem> items = queue_.take(choose, n, dropped);
    if (dropped) metrics_.dropped_inputs(dropped);
    if (items.empty()) return;  // closed and drained
    serve_group(items, n);
    if (queue_.depth() == 0) refresh_one_stale_time();
  }
}

void Dispatcher::serve_group(std::vector<QueueItem>& items, int64_t n) {
  std::vector<const EncodedInput*> real;
  for (const QueueItem& it : items) real.push_back(&it.input());
  const std::vector<const EncodedInput*> row = fill_row(real, n);
  ServedModel& model = bundle_.model(n);
  const auto t0 = Clock::now();
  std::vector<std::vector<float>> probs;
  try {
    probs = run_row(model, row, bundle_.token_level(), bundle_.labels().size());
  } catch (const std::exception& e) {
    // A model failure is the server's fault: answer these inputs with empty results (500 upstream).
    std::fprintf(stderr, "datamux serve: pass at N = %lld failed: %s\n", static_cast<long long>(n), e.what());
    for (QueueItem& it : items) it.request->complete(it.index, InputResult{n, {}});
    return;
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  times_.observe(n, seconds);
  for (std::size_t i = 0; i < last_timed_.size(); ++i)
    if (bundle_.models()[i]->instances == n) last_timed_[i] = Clock::now();
  metrics_.pass(n, static_cast<int64_t>(items.size()), seconds);
  // Only the real slots 0..k-1 are answered; the duplicates' outputs are dropped here.
  for (std::size_t k = 0; k < items.size(); ++k) items[k].request->complete(items[k].index, InputResult{n, std::move(probs[k])});
}

}  // namespace datamux::serve
