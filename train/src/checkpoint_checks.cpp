// Loading a pipeline's checkpoints without silent losses (see checkpoint_checks.hpp).
#include "checkpoint_checks.hpp"

#include <datamux/core/checkpoint.hpp>
#include <datamux/data/label_set.hpp>
#include <datamux/data/tokenizer.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

namespace datamux::runtime::detail {
namespace {

bool floating(DType t) { return t == DType::f32 || t == DType::bf16; }

// At most `shown` entries, then how many more: a log line, not a dump of a large model.
std::string listed(const std::vector<std::string>& xs, std::size_t shown = 12) {
  std::vector<std::string> head(xs.begin(), xs.begin() + static_cast<std::ptrdiff_t>(std::min(shown, xs.size())));
  std::string out = fmt::format("{}", fmt::join(head, ", "));
  if (xs.size() > shown) out += fmt::format(", ... ({} more)", xs.size() - shown);
  return out;
}

const std::string* meta(const std::vector<std::pair<std::string, std::string>>& m, const std::string& key) {
  for (const auto& [k, v] : m)
    if (k == key) return &v;
  return nullptr;
}

// Where two tokenizers part: the vocabulary size, the first id with another word, or their options.
std::string tokenizer_difference(const std::string& ckpt, const std::string& mine) {
  const data::WordTokenizer a = data::WordTokenizer::from_string(ckpt), b = data::WordTokenizer::from_string(mine);
  std::string what = fmt::format("the checkpoint's has {} words, the pipeline's data gives {}", a.vocab_size(), b.vocab_size());
  for (int64_t i = 0; i < std::min(a.vocab_size(), b.vocab_size()); ++i) {
    const auto id = static_cast<int32_t>(i);
    if (a.token(id) != b.token(id))
      return what + fmt::format("; id {} is '{}' in the checkpoint and '{}' in the pipeline", i,
                                clip_for_message(a.token(id), 40), clip_for_message(b.token(id), 40));
  }
  const auto& x = a.options();
  const auto& y = b.options();
  return what + fmt::format("; options: lowercase {} / {}, max_length {} / {}, min_count {} / {}, max_vocab {} / {}",
                            x.lowercase, y.lowercase, x.max_length, y.max_length, x.min_count, y.min_count,
                            x.max_vocab, y.max_vocab);
}

}  // namespace

namespace {

// How a checkpoint's tensors meet the model's: which load, and why the others do not.
struct InitMatch {
  std::vector<std::string> loaded, missing, mismatched, unexpected;
  std::vector<std::pair<Tensor, const Tensor*>> copies;  // model tensor <- checkpoint tensor
  std::size_t model_tensors = 0;

  bool complete() const { return missing.empty() && mismatched.empty() && unexpected.empty(); }
  std::string details() const {
    std::string d;
    if (!missing.empty()) d += fmt::format("\n  not in the checkpoint ({}): {}", missing.size(), listed(missing));
    if (!mismatched.empty()) d += fmt::format("\n  other shape or dtype ({}): {}", mismatched.size(), listed(mismatched));
    if (!unexpected.empty()) d += fmt::format("\n  not in the model, ignored ({}): {}", unexpected.size(), listed(unexpected));
    return d;
  }
};

InitMatch match_tensors(MuxModel& model, const SafetensorsFile& file) {
  InitMatch m;
  std::vector<std::string> names;
  for (const auto& [name, dst] : model.state()) {
    names.push_back(name);
    auto it = file.tensors.find(name);
    if (it == file.tensors.end()) {
      m.missing.push_back(fmt::format("{} {}", name, shape_str(dst.shape())));
      continue;
    }
    const Tensor& src = it->second;
    const bool dtype_ok = src.dtype() == dst.dtype() || (floating(src.dtype()) && floating(dst.dtype()));
    if (src.shape() != dst.shape() || !dtype_ok) {
      m.mismatched.push_back(fmt::format("{} (checkpoint {}, model {})", name, shape_str(src.shape()), shape_str(dst.shape())));
      continue;
    }
    m.loaded.push_back(fmt::format("{} {}", name, shape_str(dst.shape())));
    m.copies.emplace_back(dst, &src);
  }
  m.model_tensors = names.size();
  std::sort(names.begin(), names.end());
  for (const auto& [name, t] : file.tensors)
    if (!std::binary_search(names.begin(), names.end(), name))
      m.unexpected.push_back(fmt::format("{} {}", name, shape_str(t.shape())));
  return m;
}

// The log lines of a partial or complete load: what loaded, then each detail line.
std::vector<std::string> init_log(const InitMatch& m, const std::string& path) {
  std::vector<std::string> log;
  log.push_back(fmt::format("init    {} of {} tensors from {}{}", m.loaded.size(), m.model_tensors, path,
                            m.complete() ? "" : " (init_from_partial: the rest keep their initialisation)"));
  log.push_back(fmt::format("  loaded ({}): {}", m.loaded.size(), listed(m.loaded)));
  if (!m.complete()) {
    const std::string d = m.details();
    std::size_t start = 1;  // each detail line without its leading newline
    while (start < d.size()) {
      const std::size_t end = d.find('\n', start);
      log.push_back(d.substr(start, end == std::string::npos ? std::string::npos : end - start));
      if (end == std::string::npos) break;
      start = end + 1;
    }
  }
  return log;
}

}  // namespace

std::vector<std::string> apply_init_from(MuxModel& model, const PipelineConfig& c) {
  const std::string path = c.train.get_string("init_from");
  const bool partial = c.train.get_bool("init_from_partial");
  const SafetensorsFile file = load_safetensors(path);
  const InitMatch m = match_tensors(model, file);
  const std::string where = fmt::format("[train] init_from = \"{}\"", path);
  if (m.loaded.empty())
    throw InputError(fmt::format("{}: none of the checkpoint's {} tensors fits the model's {} (was it written for "
                                 "another pipeline, e.g. another hidden size or N?){}",
                                 where, file.tensors.size(), m.model_tensors, m.details()));
  if (!m.complete() && !partial)
    throw InputError(fmt::format("{}: only {} of the model's {} tensors can be loaded from it; set [train] "
                                 "init_from_partial = true to start from those and keep the rest as initialised{}",
                                 where, m.loaded.size(), m.model_tensors, m.details()));
  NoGradGuard no_grad;
  for (const auto& [dst, src] : m.copies) {
    Tensor target = dst;
    target.copy_(src->to(dst.dtype()));
  }
  return init_log(m, path);
}

std::string require_checkpoint_task_state(const Task& task, const std::string& checkpoint, const PipelineConfig& c) {
  const auto mine = task.metadata();
  // Only text tasks have a tokenizer and labels to compare (an image task's metadata is its input shape).
  if (!meta(mine, "datamux.tokenizer") && !meta(mine, "datamux.labels")) return "";
  const SafetensorsFile file = load_safetensors(checkpoint);
  std::vector<std::pair<std::string, std::string>> stored(file.metadata.begin(), file.metadata.end());
  const std::string* tok = meta(stored, "datamux.tokenizer");
  const std::string* labels = meta(stored, "datamux.labels");
  if (!tok && !labels)
    return fmt::format("note    {} stores no tokenizer or labels: cannot check it was trained on this pipeline's data",
                       checkpoint);
  if (const std::string* m = meta(mine, "datamux.tokenizer"); tok && m && *tok != *m)
    throw InputError(fmt::format("checkpoint '{}' was trained with another tokenizer than pipeline '{}' builds from "
                                 "its data: {}; evaluate with the pipeline (and data) the checkpoint was trained "
                                 "with, e.g. its run folder's pipeline.toml",
                                 checkpoint, c.path, tokenizer_difference(*tok, *m)));
  if (const std::string* m = meta(mine, "datamux.labels"); labels && m && *labels != *m) {
    const data::LabelSet a = data::LabelSet::from_string(*labels), b = data::LabelSet::from_string(*m);
    throw InputError(fmt::format("checkpoint '{}' was trained with the labels ({}) but pipeline '{}' gives ({}); "
                                 "evaluate with the pipeline (and data) the checkpoint was trained with",
                                 checkpoint, listed(a.names()), c.path, listed(b.names())));
  }
  return "";
}

}  // namespace datamux::runtime::detail
