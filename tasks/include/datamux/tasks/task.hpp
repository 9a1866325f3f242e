// datamux/tasks/task.hpp - what a pipeline learns: data, shapes and how batches are formed.
//
// A batch holds N*B examples arranged [N, B, ...]: axis 0 is the instance index. Slots that pad a
// batch (the last evaluation batch, or padding tokens) carry target -100 and are never counted.
#pragma once

#include <datamux/context.hpp>
#include <datamux/tensor.hpp>
#include <datamux/pipeline/pipeline_config.hpp>
#include <datamux/tasks/baselines.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace datamux::runtime {

inline constexpr int32_t kIgnore = -100;
inline constexpr int32_t kPadId = 0;

struct Batch {
  Tensor inputs;   // i32 [N, B, L] token ids, or f32 [N, B, D] / [N, B, C, H, W]
  Tensor targets;  // i32 [N, B] (sentence/image) or [N, B, L] (token level); kIgnore = not counted
  int64_t examples = 0;  // real (non-padding) examples in the batch
};

enum class Split { Train, Validation, Test };
const char* split_name(Split s);

class Task {
 public:
  virtual ~Task() = default;
  virtual std::string kind() const = 0;
  /// Fills input kind, dims, vocab, classes and sequence length into the build context.
  virtual void describe(BuildContext& ctx) const = 0;
  /// True when the task has labels of its own (false: retrieval, whose targets are the inputs).
  virtual bool has_labels() const { return true; }
  /// True when targets are per token ([N, B, L]).
  virtual bool token_level() const = 0;
  /// The head plugin used when [head] names none: the task, not the runtime, knows what output it needs
  /// (retrieval: reconstruct the tokens; token-level: a label per token; else one label per example).
  virtual std::string default_head() const {
    if (!has_labels()) return "retrieval";
    return token_level() ? "token_classification" : "sequence_classification";
  }
  /// Next training batch (epochs reshuffle deterministically from the task's seed).
  virtual Batch next_train_batch(int64_t n, int64_t b) = 0;
  /// The whole split in batches; the last one padded with kIgnore targets.
  virtual std::vector<Batch> eval_batches(Split split, int64_t n, int64_t b) const = 0;
  /// State to save with a checkpoint (e.g. the tokenizer), as key -> string.
  virtual std::vector<std::pair<std::string, std::string>> metadata() const { return {}; }
  /// Where the training stream is (generator, shuffle order, position), as text, so that a resumed run
  /// draws the same batches as one that was not stopped; restore_train_stream() puts it back and throws
  /// InputError when the text is not from this task. A task without its own stream keeps the defaults.
  virtual std::string train_stream() const { return ""; }
  virtual void restore_train_stream(const std::string& state) { (void)state; }
  /// One-line description for the log, e.g. "retrieval: vocab 1000, length 16".
  virtual std::string summary() const = 0;
  /// The simplest predictor of the task's data on the test split (baselines.hpp), reported beside the
  /// model's accuracy; none for tasks whose data has no such predictor (retrieval, mlm).
  virtual std::optional<Baseline> baseline() const { return std::nullopt; }
};

/// A task kind: what `[task] kind = "name"` builds. Each kind lives in its own folder (tasks/<kind>/) and
/// registers itself with DATAMUX_TASK; the trainer and the server know tasks only through this table.
struct TaskKind {
  std::string name;         // the value of [task] kind
  std::string description;  // one line, for `datamux plugins list` and the docs
  std::unique_ptr<Task> (*create)(const PipelineConfig&) = nullptr;
};

/// Every registered task kind, sorted by name.
std::vector<TaskKind> task_kinds();

/// Builds the task named by [task] kind. Throws InputError for an unknown kind (naming the key's
/// file:line:column, the known kinds and the nearest one) and for missing data, naming the package or
/// script that provides it.
std::unique_ptr<Task> make_task(const PipelineConfig& config);

namespace detail {
/// Adds a kind to the table (DATAMUX_TASK calls it while the library loads). A second kind of the same
/// name is kept aside and reported when a pipeline asks for that name.
bool add_task_kind(TaskKind kind);
}  // namespace detail

}  // namespace datamux::runtime

/// Registers a task kind, once, at namespace scope of its .cpp:
///   DATAMUX_TASK(retrieval, {"retrieval", "reconstruct generated token sequences", &make_retrieval_task});
#define DATAMUX_TASK(ident, ...)                                           \
  [[maybe_unused]] static const bool datamux_task_registered_##ident = \
      ::datamux::runtime::detail::add_task_kind(::datamux::runtime::TaskKind __VA_ARGS__)

namespace datamux::runtime {

}  // namespace datamux::runtime
