// Task construction by kind, and slot arrangement shared by the data-set tasks.
#include <datamux/runtime/task.hpp>

#include <fmt/format.h>

namespace datamux::runtime {

std::unique_ptr<Task> make_retrieval_task(const PipelineConfig& c);
std::unique_ptr<Task> make_dataset_task(const PipelineConfig& c);

const char* split_name(Split s) {
  switch (s) {
    case Split::Train: return "train";
    case Split::Validation: return "validation";
    case Split::Test: return "test";
  }
  return "?";
}

std::vector<int64_t> arrange_slots(const std::vector<int64_t>& order, int64_t start, int64_t n, int64_t b) {
  std::vector<int64_t> slots(static_cast<std::size_t>(n * b), -1);
  for (int64_t k = 0; k < n * b; ++k) {
    const int64_t pos = start + k;
    if (pos < static_cast<int64_t>(order.size())) slots[static_cast<std::size_t>(k)] = order[static_cast<std::size_t>(pos)];
  }
  return slots;
}

std::unique_ptr<Task> make_task(const PipelineConfig& c) {
  const std::string& kind = c.task.get_string("kind");
  if (kind == "retrieval") return make_retrieval_task(c);
  return make_dataset_task(c);
}

}  // namespace datamux::runtime
