// Peak-memory estimates of a pipeline against MemAvailable (see memory_estimate.hpp).
#include "memory_estimate.hpp"

#include <datamux/core/memory.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "evaluation.hpp"

namespace datamux::runtime::detail {
namespace {

constexpr uint64_t kF32 = 4;

uint64_t bytes_of(const Tensor& t) { return static_cast<uint64_t>(t.numel()) * dtype_size(t.dtype()); }

std::string gb(uint64_t bytes) { return fmt::format("{:.2f} GB", static_cast<double>(bytes) / 1e9); }

// Saturating arithmetic: shapes near the schema bounds multiply past 2^64.
uint64_t mul(std::initializer_list<uint64_t> xs) {
  uint64_t r = 1;
  for (uint64_t x : xs) {
    if (x != 0 && r > UINT64_MAX / x) return UINT64_MAX;
    r *= x;
  }
  return r;
}
uint64_t add(uint64_t a, uint64_t b) { return a > UINT64_MAX - b ? UINT64_MAX : a + b; }

// Values per example as the task stores them: token ids, or pixels.
uint64_t row_width(const BuildContext& x) {
  return x.input == InputKind::Sequence ? static_cast<uint64_t>(x.seq_len)
                                        : static_cast<uint64_t>(x.channels * x.height * x.width);
}

// Optimizer slots per parameter element besides the gradient: AdamW keeps two moments, SGD one buffer.
uint64_t optimizer_slots(const PipelineConfig& c) { return c.train.get_string("optimizer") == "adamw" ? 2 : 1; }

uint64_t step_batch(const PipelineConfig& c, bool training) {
  const uint64_t eval = static_cast<uint64_t>(eval_batch(c));
  return training ? std::max<uint64_t>(static_cast<uint64_t>(c.train.get_int("batch")), eval) : eval;
}

}  // namespace

uint64_t available_memory_bytes() {
  if (const char* env = std::getenv("DATAMUX_MEMORY_AVAILABLE"); env && *env) {
    char* end = nullptr;
    const unsigned long long v = std::strtoull(env, &end, 10);
    if (end && *end == '\0') return v;
  }
  std::ifstream in("/proc/meminfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("MemAvailable:", 0) != 0) continue;
    std::istringstream ss(line.substr(13));
    uint64_t kb = 0;
    ss >> kb;
    return kb * 1024;
  }
  return 0;
}

std::string MemoryEstimate::describe() const {
  std::string parts = fmt::format("weights {}", gb(weights));
  if (optimizer) parts += fmt::format(", gradients and optimizer state {}", gb(optimizer));
  parts += fmt::format(", activations of one step {}", gb(activations));
  if (data) parts += fmt::format(", evaluation data {}", gb(data));
  return parts;
}

MemoryEstimate estimate_from_shapes(const PipelineConfig& c, const BuildContext& x, bool training) {
  MemoryEstimate e;
  const uint64_t n = static_cast<uint64_t>(x.instances), hidden = static_cast<uint64_t>(c.model.get_int("hidden"));
  const uint64_t batch = step_batch(c, training);
  if (x.input == InputKind::Sequence) {
    // Token and position embeddings; the retrieval decoder (vocab outputs) has as many weights again.
    const uint64_t vocab = static_cast<uint64_t>(x.vocab), len = static_cast<uint64_t>(x.seq_len);
    const bool retrieval = c.task.get_string("kind") == "retrieval" || c.train.get_float("retrieval_loss_coeff") > 0;
    e.weights = mul({add(mul({vocab, retrieval ? 2u : 1u}), len), hidden, kF32});
    // Every instance's embedded tokens, and the [N, B, L, vocab] logits of retrieval.
    e.activations = mul({n, batch, len, add(hidden, retrieval ? vocab : 0), kF32});
  } else {
    e.activations = mul({n, batch, row_width(x), kF32});
  }
  if (training) e.optimizer = mul({e.weights, add(1, optimizer_slots(c))});
  if (c.task.get_string("kind") == "retrieval")
    e.data = mul({static_cast<uint64_t>(c.task.get_int("eval_examples")), row_width(x), 2 * kF32});
  return e;
}

MemoryEstimate estimate_built(const PipelineConfig& c, MuxModel& model, const Task& task, bool training) {
  MemoryEstimate e;
  for (const auto& [name, t] : model.state()) e.weights = add(e.weights, bytes_of(t));
  uint64_t param_bytes = 0;
  for (const auto& [name, t] : model.named_parameters()) param_bytes = add(param_bytes, bytes_of(t));
  if (training) e.optimizer = mul({param_bytes, add(1, optimizer_slots(c))});
  if (c.task.get_string("kind") == "retrieval")
    e.data = mul({static_cast<uint64_t>(c.task.get_int("eval_examples")), row_width(model.context()), 2 * kF32});

  // One row, forward and backward in evaluation mode (dropout and sampling draw nothing, so the run's
  // random streams are untouched). Its peak above what was live, less the gradients, is one row's
  // activations.
  const BuildContext& x = model.context();
  const int64_t n = x.instances;
  Batch probe;
  if (x.input == InputKind::Sequence) {
    probe.inputs = Tensor::full({n, 1, x.seq_len}, 3.f).to(DType::i32);
  } else {
    probe.inputs = Tensor::zeros({n, 1, static_cast<int64_t>(row_width(x))});
  }
  probe.targets = !task.has_labels() ? probe.inputs
                                     : Tensor::zeros(task.token_level() ? Shape{n, 1, x.seq_len} : Shape{n, 1}).to(DType::i32);
  probe.examples = n;
  const bool was_training = model.is_training();
  model.eval();
  const MemoryStats before = memory_stats();
  reset_peak_memory();
  try {
    ModelOutput out = model.forward(probe);
    out.loss.backward();
  } catch (const std::exception&) {
    // A task whose targets this probe does not know how to form: the estimate keeps weights and state
    // (check_fit has already shown that the plugins fit together).
  }
  const uint64_t peak = memory_stats().peak_bytes;
  model.zero_grad();
  model.train(was_training);
  const uint64_t live = before.live_bytes;
  const uint64_t row = peak > live + param_bytes ? peak - live - param_bytes : 0;
  e.activations = mul({row, step_batch(c, training)});
  return e;
}

void require_memory(const MemoryEstimate& e, bool training, const std::string& when) {
  const uint64_t available = available_memory_bytes();
  if (available == 0 || e.total() <= available) return;
  throw InputError(fmt::format(
      "the pipeline needs an estimated {} of memory {}: {}; but {} is available (MemAvailable); reduce [train] "
      "batch{}, [eval] batch, [model] hidden or instances, [task] length{}",
      gb(e.total()), when, e.describe(), gb(available), training ? "" : " (eval uses [eval] batch, or [train] batch when it is 0)",
      e.data ? ", vocab or eval_examples" : " or vocab"));
}

}  // namespace datamux::runtime::detail
