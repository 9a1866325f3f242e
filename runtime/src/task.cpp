// Task construction by kind, and split names.
#include <datamux/runtime/task.hpp>

#include <fmt/format.h>

namespace datamux::runtime {

std::unique_ptr<Task> make_retrieval_task(const PipelineConfig& c);
std::unique_ptr<Task> make_dataset_task(const PipelineConfig& c);
std::unique_ptr<Task> make_mlm_task(const PipelineConfig& c);

const char* split_name(Split s) {
  switch (s) {
    case Split::Train: return "train";
    case Split::Validation: return "validation";
    case Split::Test: return "test";
  }
  return "?";
}

std::unique_ptr<Task> make_task(const PipelineConfig& c) {
  const std::string& kind = c.task.get_string("kind");
  if (kind == "retrieval") return make_retrieval_task(c);
  if (kind == "mlm") return make_mlm_task(c);
  return make_dataset_task(c);
}

}  // namespace datamux::runtime
