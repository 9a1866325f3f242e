// resume.safetensors: everything a stopped run needs to continue exactly (see resume_state.hpp).
#include "resume_state.hpp"

#include <datamux/core/checkpoint.hpp>
#include <datamux/nn.hpp>
#include <fmt/format.h>

#include <filesystem>
#include <sstream>

namespace datamux::runtime::detail {
namespace {

namespace fs = std::filesystem;

std::string resume_path(const std::string& dir) { return (fs::path(dir) / "resume.safetensors").string(); }

// The model's random streams by module path: every dropout and every nn::RandomStream.
std::vector<std::pair<std::string, Rng*>> random_streams(const MuxModel& model) {
  std::vector<std::pair<std::string, Rng*>> out;
  for (const auto& [name, m] : model.named_modules()) {
    if (auto* d = dynamic_cast<nn::Dropout*>(m)) out.emplace_back(name, &d->rng());
    if (auto* r = dynamic_cast<nn::RandomStream*>(m)) out.emplace_back(name, &r->rng());
  }
  return out;
}

}  // namespace

void save_resume_state(const std::string& dir, const MuxModel& model, const Optimizer& optimizer, const Task& task,
                       int64_t step) {
  NamedTensors tensors = with_prefix("model.", model.state());
  for (auto& t : with_prefix("optimizer.", optimizer.state())) tensors.push_back(std::move(t));
  Metadata meta = {{"datamux.step", std::to_string(step)}, {"datamux.task_stream", task.train_stream()}};
  for (const auto& [name, rng] : random_streams(model)) {
    std::ostringstream ss;
    ss << rng->engine();
    meta.emplace_back("datamux.rng." + name, ss.str());
  }
  save_safetensors(resume_path(dir), tensors, meta);
}

int64_t load_resume_state(const std::string& dir, MuxModel& model, Optimizer& optimizer, Task& task) {
  const std::string path = resume_path(dir);
  const SafetensorsFile file = load_safetensors(path);
  auto meta = [&](const std::string& key) -> const std::string& {
    auto it = file.metadata.find(key);
    if (it == file.metadata.end())
      throw InputError(fmt::format("resume state '{}': no {} (not written by `datamux run`?)", path, key));
    return it->second;
  };
  int64_t step = 0;
  try {
    step = std::stoll(meta("datamux.step"));
  } catch (const std::logic_error&) {
    throw InputError(fmt::format("resume state '{}': datamux.step is not a number", path));
  }
  // The model strictly (same names and shapes), then the optimizer, which checks its own keys.
  const auto weights = select_prefix(file.tensors, "model.");
  std::vector<std::string> wrong;
  const auto state = model.state();
  for (const auto& [name, t] : state) {
    auto it = weights.find(name);
    if (it == weights.end() || it->second.shape() != t.shape() || it->second.dtype() != t.dtype()) wrong.push_back(name);
  }
  if (!wrong.empty() || weights.size() != state.size())
    throw InputError(fmt::format("resume state '{}' does not fit the pipeline's model ({} tensors differ, e.g. '{}'): "
                                 "resume with the pipeline the run started with",
                                 path, wrong.size(), wrong.empty() ? std::string("an extra one") : wrong.front()));
  optimizer.load_state(select_prefix(file.tensors, "optimizer."));
  {
    NoGradGuard no_grad;
    for (auto [name, t] : state) t.copy_(weights.at(name));
  }
  task.restore_train_stream(meta("datamux.task_stream"));
  for (const auto& [name, rng] : random_streams(model)) {
    std::istringstream ss(meta("datamux.rng." + name));
    ss >> rng->engine();
    if (!ss) throw InputError(fmt::format("resume state '{}': the random stream of '{}' is malformed", path, name));
  }
  return step;
}

}  // namespace datamux::runtime::detail
