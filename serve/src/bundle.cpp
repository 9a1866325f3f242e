// Loading a bundle: each model from its run folder or checkpoint, then the agreement check.
#include <datamux/core/checkpoint.hpp>
#include <datamux/core/cpu_features.hpp>
#include <datamux/error.hpp>
#include <datamux/registry.hpp>
#include <datamux/serve/bundle.hpp>

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
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

// What a model reads, from its checkpoint: the tokenizer and labels of a text task, or an image task's
// description (shape, standardisation, class names).
struct Reads {
  std::string kind;
  int64_t length = 0;
  std::unique_ptr<data::WordTokenizer> tokenizer;
  data::ImageInput image;
  data::LabelSet labels;
};

// An image checkpoint written before the description was stored: the description is the one the
// pipeline's task computes from its data set (the same training pixels give the same statistics).
data::ImageInput image_input_from_data(const runtime::PipelineConfig& config, const std::string& source) {
  std::fprintf(stderr,
               "note    --model %s: the checkpoint stores no image description (datamux.image, written by newer "
               "runs); computing it from the pipeline's data set\n",
               source.c_str());
  const std::unique_ptr<runtime::Task> task = runtime::make_task(config);
  for (const auto& [key, value] : task->metadata())
    if (key == "datamux.image") return data::ImageInput::from_string(value);
  throw InputError(fmt::format("--model {}: its task gives no image description", source));
}

std::unique_ptr<ServedModel> load_model(const std::string& source, Reads& reads) {
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
  reads.kind = kind;
  if (kind == "image_classification") {
    const auto it = file.metadata.find("datamux.image");
    try {
      reads.image = it != file.metadata.end() ? data::ImageInput::from_string(it->second)
                                              : image_input_from_data(m->config, source);
    } catch (const InputError& e) {
      throw InputError(fmt::format("--model {}: {}", source, e.what()));
    }
    reads.length = reads.image.values();
    reads.labels = data::LabelSet(reads.image.labels);
    m->task = std::make_unique<detail::ServeImageTask>(reads.image);
  } else if (kind == "text_classification" || kind == "token_tagging") {
    reads.tokenizer = std::make_unique<data::WordTokenizer>(
        data::WordTokenizer::from_string(metadata_value(file, "datamux.tokenizer", checkpoint, "tokenizer")));
    reads.labels = data::LabelSet::from_string(metadata_value(file, "datamux.labels", checkpoint, "labels"));
    reads.length = m->config.task.get_int("length");
    m->task = std::make_unique<detail::ServeTask>(kind, reads.length, reads.tokenizer->vocab_size(), reads.labels.size());
  } else {
    throw InputError(fmt::format("--model {}: a {} model; serve answers text_classification, token_tagging and "
                                 "image_classification models",
                                 source, kind));
  }

  m->instances = m->config.model.get_int("instances");
  // As runtime::build_pipeline does: [model] dtype is the matmul precision of this model's passes.
  m->precision = m->config.model.get_string("dtype") == "bf16" ? MatmulPrecision::bf16 : MatmulPrecision::f32;
  Registry registry = Registry::with_default_paths();
  for (const auto& p : m->config.plugin_paths) registry.add_search_path(p);
  set_matmul_precision(m->precision);  // the build's probe pass runs as the served passes will
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
    Reads reads;
    std::unique_ptr<ServedModel> m = load_model(source, reads);
    if (b.models_.empty()) {
      b.kind_ = reads.kind;
      b.length_ = reads.length;
      b.tokenizer_ = std::move(reads.tokenizer);
      b.image_ = reads.image;
      b.labels_ = reads.labels;
    } else {
      const std::string& first = b.models_.front()->source;
      const std::string why = "a bundle is one task trained at several N, e.g. a sweep over model.instances";
      if (reads.kind != b.kind_)
        throw InputError(fmt::format("--model {} is a {} model, --model {} a {} one; {}", source, reads.kind, first,
                                     b.kind_, why));
      if (b.image()) {
        const data::ImageInput& x = reads.image;
        const data::ImageInput& y = b.image_;
        if (x.rows != y.rows || x.cols != y.cols || x.channels != y.channels)
          throw InputError(fmt::format("--model {} reads images of {} x {} pixels and {} channel(s) (rows x cols, "
                                       "channels), --model {} reads {} x {} and {}; {}",
                                       source, x.rows, x.cols, x.channels, first, y.rows, y.cols, y.channels, why));
        if (x.mean != y.mean || x.stddev != y.stddev)
          throw InputError(fmt::format("--model {} standardises pixels with mean {} and stddev {}, --model {} with {} "
                                       "and {}: they were trained on different images; {}",
                                       source, x.mean, x.stddev, first, y.mean, y.stddev, why));
      } else {
        if (reads.length != b.length_)
          throw InputError(fmt::format("--model {} reads {} tokens ([task] length), --model {} reads {}; {}", source,
                                       reads.length, first, b.length_, why));
        if (reads.tokenizer->to_string() != b.tokenizer_->to_string())
          throw InputError(fmt::format("--model {} and --model {} have different tokenizers ({} and {} words); {}",
                                       source, first, reads.tokenizer->vocab_size(), b.tokenizer_->vocab_size(), why));
      }
      if (!(reads.labels == b.labels_))
        throw InputError(fmt::format("--model {} has labels ({}), --model {} has ({}); {}", source,
                                     short_list(reads.labels.names()), first, short_list(b.labels_.names()), why));
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

std::string ServedModel::dtype() const {
  return precision == MatmulPrecision::bf16 && bf16_matmul_is_fast() ? "bf16" : "f32";
}

bool ServedModel::bf16_unavailable() const { return precision == MatmulPrecision::bf16 && !bf16_matmul_is_fast(); }

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
  // As the training task built its rows (tasks/text_classification/text_classification.cpp): [CLS], then at most L-1 ids.
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

EncodedInput Bundle::encode_image(const std::vector<float>& raw) const {
  if (static_cast<int64_t>(raw.size()) != length_)
    throw std::invalid_argument(fmt::format("has {} pixel values, the models read {}", raw.size(), length_));
  EncodedInput e;
  e.pixels.resize(raw.size());
  for (std::size_t k = 0; k < raw.size(); ++k) {
    if (!(raw[k] >= 0.f && raw[k] <= 255.f))
      throw std::invalid_argument(fmt::format("[{}] = {} is outside 0..255 (0 = background, 255 = ink)", k, raw[k]));
    // As data/src/idx.cpp scales an IDX byte, then as the image task standardised it.
    float unit = raw[k];
    unit *= 1.f / 255.f;
    e.pixels[k] = image_.standardise(unit);
  }
  e.positions = 1;
  return e;
}

EncodedInput Bundle::typical_input() const {
  if (image()) return encode_image(std::vector<float>(static_cast<std::size_t>(length_), 0.f));
  EncodedInput e;
  e.ids.assign(static_cast<std::size_t>(length_), data::WordTokenizer::kUnk);
  if (!token_level()) e.ids[0] = data::WordTokenizer::kCls;
  e.positions = token_level() ? length_ : 1;
  return e;
}

}  // namespace datamux::serve
