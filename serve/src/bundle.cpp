// Loading a bundle: each model from its run folder or checkpoint, then the agreement check.
#include <datamux/core/checkpoint.hpp>
#include <datamux/error.hpp>
#include <datamux/registry.hpp>
#include <datamux/serve/bundle.hpp>

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "serve_task.hpp"

namespace datamux::serve {
namespace fs = std::filesystem;
namespace {

struct Located {
  std::string pipeline, checkpoint;
  bool temporary_pipeline = false;  // written from the checkpoint's metadata
};

std::string metadata_value(const SafetensorsFile& f, const std::string& key, const std::string& checkpoint,
                           const std::string& what) {
  const auto it = f.metadata.find(key);
  if (it == f.metadata.end())
    throw InputError(fmt::format("--model {}: the checkpoint has no {} (metadata \"{}\"); serve needs a model.safetensors "
                                 "written by `datamux run` for a text task",
                                 checkpoint, what, key));
  return it->second;
}

// A run folder, or a checkpoint with a pipeline.toml beside it, or one whose metadata holds the pipeline.
Located locate(const std::string& source, const SafetensorsFile* meta_of_checkpoint) {
  Located l;
  std::error_code ec;
  if (fs::is_directory(source, ec)) {
    l.pipeline = (fs::path(source) / "pipeline.toml").string();
    l.checkpoint = (fs::path(source) / "model.safetensors").string();
    if (!fs::exists(l.checkpoint, ec))
      throw InputError(fmt::format("--model {}: no model.safetensors in this folder (is it a finished `datamux run` "
                                   "output folder?)",
                                   source));
    if (!fs::exists(l.pipeline, ec))
      throw InputError(fmt::format("--model {}: no pipeline.toml in this folder", source));
    return l;
  }
  if (!fs::exists(source, ec))
    throw InputError(fmt::format("--model {}: no such file or folder (give a run folder or its model.safetensors)", source));
  l.checkpoint = source;
  const fs::path beside = fs::path(source).parent_path() / "pipeline.toml";
  if (fs::exists(beside, ec)) {
    l.pipeline = beside.string();
  } else if (meta_of_checkpoint) {
    l.pipeline = (fs::temp_directory_path() / fmt::format("datamux-serve-{}-{}.toml", ::getpid(),
                                                          std::hash<std::string>{}(source)))
                     .string();
    std::ofstream(l.pipeline) << metadata_value(*meta_of_checkpoint, "datamux.pipeline", source, "pipeline");
    l.temporary_pipeline = true;
  }
  return l;
}

std::unique_ptr<ServedModel> load_model(const std::string& source, std::unique_ptr<data::WordTokenizer>& tokenizer,
                                        data::LabelSet& labels) {
  std::error_code ec;
  const std::string checkpoint = fs::is_directory(source, ec) ? (fs::path(source) / "model.safetensors").string() : source;
  // locate() first checks the folder's files, so a missing checkpoint is reported as such.
  Located where = locate(source, nullptr);
  const SafetensorsFile file = load_safetensors(where.checkpoint);
  if (where.pipeline.empty()) where = locate(source, &file);

  auto m = std::make_unique<ServedModel>();
  m->source = source;
  m->checkpoint = where.checkpoint;
  try {
    m->config = runtime::load_pipeline(where.pipeline);
  } catch (...) {
    if (where.temporary_pipeline) fs::remove(where.pipeline, ec);
    throw;
  }
  if (where.temporary_pipeline) fs::remove(where.pipeline, ec);

  const std::string kind = m->config.task.get_string("kind");
  if (kind != "text_classification" && kind != "token_tagging")
    throw InputError(fmt::format("--model {}: a {} model; serve answers text_classification and token_tagging models",
                                 source, kind));
  tokenizer = std::make_unique<data::WordTokenizer>(
      data::WordTokenizer::from_string(metadata_value(file, "datamux.tokenizer", checkpoint, "tokenizer")));
  labels = data::LabelSet::from_string(metadata_value(file, "datamux.labels", checkpoint, "labels"));

  m->instances = m->config.model.get_int("instances");
  m->task = std::make_unique<detail::ServeTask>(kind, m->config.task.get_int("length"), tokenizer->vocab_size(),
                                                labels.size());
  Registry registry = Registry::with_default_paths();
  for (const auto& p : m->config.plugin_paths) registry.add_search_path(p);
  m->model = std::make_unique<runtime::MuxModel>(m->config, *m->task, registry);
  try {
    load_into(*m->model, where.checkpoint, /*strict=*/true);
  } catch (const InputError& e) {
    throw InputError(fmt::format("--model {}: {}", source, e.what()));
  }
  m->model->eval();
  return m;
}

std::string short_list(const std::vector<std::string>& v) {
  std::string s;
  for (std::size_t i = 0; i < v.size() && i < 6; ++i) s += (i ? ", " : "") + v[i];
  if (v.size() > 6) s += fmt::format(", ... ({} in all)", v.size());
  return s;
}

}  // namespace

Bundle Bundle::load(const std::vector<std::string>& sources) {
  if (sources.empty()) throw InputError("serve needs at least one --model (a run folder or model.safetensors)");
  Bundle b;
  for (const std::string& source : sources) {
    std::unique_ptr<data::WordTokenizer> tok;
    data::LabelSet labels;
    std::unique_ptr<ServedModel> m = load_model(source, tok, labels);
    const std::string kind = m->config.task.get_string("kind");
    const int64_t length = m->config.task.get_int("length");
    if (b.models_.empty()) {
      b.kind_ = kind;
      b.length_ = length;
      b.tokenizer_ = std::move(tok);
      b.labels_ = labels;
    } else {
      const std::string& first = b.models_.front()->source;
      const std::string why = "a bundle is one task trained at several N, e.g. a sweep over model.instances";
      if (kind != b.kind_)
        throw InputError(fmt::format("--model {} is a {} model, --model {} a {} one; {}", source, kind, first, b.kind_, why));
      if (length != b.length_)
        throw InputError(fmt::format("--model {} reads {} tokens ([task] length), --model {} reads {}; {}", source, length,
                                     first, b.length_, why));
      if (tok->to_string() != b.tokenizer_->to_string())
        throw InputError(fmt::format("--model {} and --model {} have different tokenizers ({} and {} words); {}", source,
                                     first, tok->vocab_size(), b.tokenizer_->vocab_size(), why));
      if (!(labels == b.labels_))
        throw InputError(fmt::format("--model {} has labels ({}), --model {} has ({}); {}", source,
                                     short_list(labels.names()), first, short_list(b.labels_.names()), why));
    }
    for (const auto& other : b.models_)
      if (other->instances == m->instances)
        throw InputError(fmt::format("--model {} and --model {} are both N = {}; give one model per N", source,
                                     other->source, m->instances));
    b.models_.push_back(std::move(m));
  }
  std::sort(b.models_.begin(), b.models_.end(), [](const auto& x, const auto& y) { return x->instances < y->instances; });
  return b;
}

std::vector<int64_t> Bundle::instances() const {
  std::vector<int64_t> ns;
  for (const auto& m : models_) ns.push_back(m->instances);
  return ns;
}

ServedModel& Bundle::model(int64_t n) {
  for (auto& m : models_)
    if (m->instances == n) return *m;
  throw std::out_of_range(fmt::format("no model for N = {}", n));
}

EncodedInput Bundle::encode_text(const std::string& text) const {
  if (token_level()) {
    std::vector<std::string> words;
    std::istringstream in(text);
    for (std::string w; in >> w;) words.push_back(w);
    return encode_words(words);
  }
  EncodedInput e;
  e.ids.assign(static_cast<std::size_t>(length_), runtime::kPadId);
  // As the training task built its rows (runtime/src/task_dataset.cpp): [CLS], then at most L-1 ids.
  e.ids[0] = data::WordTokenizer::kCls;
  const std::vector<int32_t> ids = tokenizer_->encode(text);
  for (std::size_t k = 0; k < ids.size() && static_cast<int64_t>(k) + 1 < length_; ++k) e.ids[k + 1] = ids[k];
  e.positions = 1;
  return e;
}

EncodedInput Bundle::encode_words(const std::vector<std::string>& words) const {
  EncodedInput e;
  e.ids.assign(static_cast<std::size_t>(length_), runtime::kPadId);
  const std::vector<int32_t> ids = tokenizer_->encode_words(words);
  const int64_t offset = token_level() ? 0 : 1;
  if (!token_level()) e.ids[0] = data::WordTokenizer::kCls;
  int64_t k = 0;
  for (; k < static_cast<int64_t>(ids.size()) && k + offset < length_; ++k) e.ids[static_cast<std::size_t>(k + offset)] = ids[static_cast<std::size_t>(k)];
  e.positions = token_level() ? k : 1;
  return e;
}

EncodedInput Bundle::encode_ids(const std::vector<int64_t>& ids) const {
  if (static_cast<int64_t>(ids.size()) > length_)
    throw std::invalid_argument(fmt::format("has {} ids, the models read at most {}", ids.size(), length_));
  EncodedInput e;
  e.ids.assign(static_cast<std::size_t>(length_), runtime::kPadId);
  for (std::size_t k = 0; k < ids.size(); ++k) {
    if (ids[k] < 0 || ids[k] >= tokenizer_->vocab_size())
      throw std::invalid_argument(fmt::format("[{}] = {} is not a token id (0 to {})", k, ids[k], tokenizer_->vocab_size() - 1));
    e.ids[k] = static_cast<int32_t>(ids[k]);
  }
  e.positions = token_level() ? static_cast<int64_t>(ids.size()) : 1;
  return e;
}

}  // namespace datamux::serve
