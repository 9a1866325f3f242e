// The table of task kinds (filled by DATAMUX_TASK as libdatamux_tasks loads), make_task, split names.
#include <datamux/error.hpp>
#include <datamux/options.hpp>
#include <datamux/tasks/task.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <map>
#include <set>

namespace datamux::runtime {
namespace {

struct KindTable {
  std::map<std::string, TaskKind> kinds;
  std::set<std::string> duplicated;
};

// A function-local static: DATAMUX_TASK runs during static initialisation, in no fixed order.
KindTable& table() {
  static KindTable t;
  return t;
}

}  // namespace

const char* split_name(Split s) {
  switch (s) {
    case Split::Train: return "train";
    case Split::Validation: return "validation";
    case Split::Test: return "test";
  }
  return "?";
}

namespace detail {
bool add_task_kind(TaskKind kind) {
  KindTable& t = table();
  if (t.kinds.count(kind.name)) {
    t.duplicated.insert(kind.name);
    return false;
  }
  std::string name = kind.name;
  t.kinds.emplace(std::move(name), std::move(kind));
  return true;
}
}  // namespace detail

std::vector<TaskKind> task_kinds() {
  std::vector<TaskKind> out;
  for (const auto& [name, kind] : table().kinds) out.push_back(kind);
  return out;
}

std::unique_ptr<Task> make_task(const PipelineConfig& c) {
  const std::string& kind = c.task.get_string("kind");
  const KindTable& t = table();
  auto origin = c.task_origin.find("kind");
  const std::string where = origin == c.task_origin.end() ? c.path : origin->second;
  if (t.duplicated.count(kind))
    throw InputError(fmt::format("{}: [task] kind = \"{}\": two task kinds of that name are built in; rename one "
                                 "(tasks/<kind>/, DATAMUX_TASK)",
                                 where, clip_for_message(kind)));
  auto it = t.kinds.find(kind);
  if (it == t.kinds.end()) {
    std::vector<std::string> names;
    for (const auto& [name, k] : t.kinds) names.push_back(name);
    const std::string hint = kind.size() > 64 ? std::string() : did_you_mean(kind, names);
    throw InputError(fmt::format("{}: [task] kind = \"{}\": unknown task kind{}; known kinds: {} (`datamux plugins "
                                 "list` describes them)",
                                 where, clip_for_message(kind), hint.empty() ? "" : fmt::format(" (did you mean '{}'?)", hint),
                                 fmt::join(names, ", ")));
  }
  return it->second.create(c);
}

}  // namespace datamux::runtime
