// Assembling and running a DataMUX model from the pipeline's plugin sections.
#include <datamux/train/model.hpp>

#include <chrono>

#include <fmt/format.h>

#include <cstring>
#include <string_view>

namespace datamux::runtime {

TaskEmbedding::TaskEmbedding(int64_t vocab, int64_t length, int64_t dim, float stddev, Rng& rng, float position_stddev) {
  tokens_ = register_parameter("tokens.weight", Tensor::randn({vocab, dim}, rng, 0.f, stddev));
  positions_ = register_parameter("positions.weight",
                                  Tensor::randn({length, dim}, rng, 0.f, position_stddev < 0.f ? stddev : position_stddev));
  norm_weight_ = register_parameter("norm.weight", Tensor::ones({dim}));
  norm_bias_ = register_parameter("norm.bias", Tensor::zeros({dim}));
}

Tensor TaskEmbedding::forward(const Tensor& ids) const {
  const int64_t L = ids.size(-1);
  if (L > positions_.size(0))
    throw std::invalid_argument(fmt::format("embedding: sequence of {} tokens, model built for {}", L, positions_.size(0)));
  return ops::embedding_layer_norm(ids, tokens_, positions_.slice(0, 0, L), norm_weight_, norm_bias_);
}

namespace {

// The auxiliary retrieval loss's head when [retrieval_head] names none.
constexpr const char* kRetrievalHead = "retrieval";

// Padding mask of the multiplexed rows: a position is real when any instance has a token there.
// Each instance's own padding, [N, B, prefix + L] (prefix positions count as tokens), for the mux.
Tensor instance_mask(const Tensor& ids, int64_t prefix) {
  const int64_t n = ids.size(0), b = ids.size(1), l = ids.size(2);
  Tensor mask = Tensor::empty({n, b, prefix + l});
  float* m = mask.data<float>();
  const int32_t* p = ids.data<int32_t>();
  for (int64_t r = 0; r < n * b; ++r) {
    for (int64_t t = 0; t < prefix; ++t) m[r * (prefix + l) + t] = 1.f;
    for (int64_t t = 0; t < l; ++t) m[r * (prefix + l) + prefix + t] = p[r * l + t] != kPadId ? 1.f : 0.f;
  }
  return mask;
}

Tensor sequence_mask(const Tensor& ids, int64_t prefix) {
  const int64_t n = ids.size(0), b = ids.size(1), l = ids.size(2);
  Tensor mask = Tensor::empty({b, prefix + l});
  float* m = mask.data<float>();
  const int32_t* p = ids.data<int32_t>();
  for (int64_t j = 0; j < b; ++j) {
    for (int64_t t = 0; t < prefix; ++t) m[j * (prefix + l) + t] = 1.f;
    for (int64_t t = 0; t < l; ++t) {
      bool real = false;
      for (int64_t i = 0; i < n && !real; ++i) real = p[(i * b + j) * l + t] != kPadId;
      m[j * (prefix + l) + prefix + t] = real ? 1.f : 0.f;
    }
  }
  return mask;
}

// Retrieval targets for a labelled text task: the input tokens, padding ignored.
Tensor token_targets(const Tensor& ids) {
  Tensor t = Tensor::empty(ids.shape(), DType::i32);
  const int32_t* p = ids.data<int32_t>();
  int32_t* q = t.data<int32_t>();
  for (int64_t k = 0; k < ids.numel(); ++k) q[k] = p[k] == kPadId ? kIgnore : p[k];
  return t;
}

// Checks a plugin section against its plugin's schema before the registry builds it: the registry knows
// only the section, this reports an unknown plugin or a bad option at the line (or --set) that wrote it.
void check_section(Registry& registry, PluginKind kind, const PluginSection& s, const std::string& plugin) {
  const PluginInfo* info = nullptr;
  try {
    info = &registry.find(kind, plugin);
  } catch (const InputError& e) {
    const auto it = s.origin.find("plugin");
    if (it == s.origin.end()) throw;
    throw InputError(fmt::format("{}: {}", it->second, e.what()));
  }
  // s.where is "[section] (file:line:column)": messages name the section the user wrote.
  validate_located(info->manifest->options, s.located(), s.where.substr(0, s.where.find(' ')));
}

}  // namespace

MuxModel::MuxModel(const PipelineConfig& c, const Task& task, Registry& registry) {
  init_context(c, task);
  const HeadNames heads = check_sections(c, task, registry);
  build_components(c, registry, heads);
  const double linear_std = c.model.get_float("linear_init_stddev");
  if (linear_std >= 0.0) reinit_normal(static_cast<float>(linear_std), ctx_.seed * 1000003u + 7);
  check_fit();
}

// The build context every component sees, and the loss weights; refuses loss settings the task cannot have.
void MuxModel::init_context(const PipelineConfig& c, const Task& task) {
  ctx_.instances = c.model.get_int("instances");
  ctx_.hidden = c.model.get_int("hidden");
  ctx_.seed = static_cast<uint64_t>(c.model.get_int("seed"));
  ctx_.task = task.kind();
  task.describe(ctx_);
  if (ctx_.input != InputKind::Sequence) {
    const bool image = c.model.get_string("input") == "image";
    ctx_.input = image ? InputKind::Image : InputKind::Vector;
    ctx_.dim = ctx_.channels * ctx_.height * ctx_.width;
  } else {
    ctx_.dim = ctx_.hidden;
  }
  retrieval_task_ = !task.has_labels();
  task_token_level_ = task.token_level();
  task_coeff_ = static_cast<float>(c.train.get_float("task_loss_coeff"));
  retrieval_coeff_ = static_cast<float>(c.train.get_float("retrieval_loss_coeff"));
  if (retrieval_task_ && retrieval_coeff_ <= 0.f)
    throw InputError("[train] retrieval_loss_coeff must be > 0 for the retrieval task (it is the only loss)");
  if (!retrieval_task_ && retrieval_coeff_ > 0.f && ctx_.input != InputKind::Sequence)
    throw InputError("[train] retrieval_loss_coeff > 0 needs a text task: images have no tokens to retrieve");
}

// Every plugin section checked against its plugin's schema before anything is built (a mistake in the
// head is reported before minutes of building the backbone). Returns the heads' plugin names.
MuxModel::HeadNames MuxModel::check_sections(const PipelineConfig& c, const Task& task, Registry& registry) {
  for (auto* s : {&c.mux, &c.backbone, &c.demux})
    if (s->plugin.empty())
      throw InputError(fmt::format("{} is missing: a pipeline names its plugin, e.g. plugin = \"...\" (see `datamux plugins list`)",
                                   s->where));
  check_section(registry, PluginKind::Mux, c.mux, c.mux.plugin);
  check_section(registry, PluginKind::Backbone, c.backbone, c.backbone.plugin);
  check_section(registry, PluginKind::Demux, c.demux, c.demux.plugin);
  // The head: [head] plugin, else the task's default. The auxiliary retrieval loss's head: [retrieval_head]
  // plugin, else kRetrievalHead. Both sections' options are checked against the chosen plugin's schema.
  const std::string head = c.head.plugin.empty() ? task.default_head() : c.head.plugin;
  const std::string aux_head = c.retrieval_head.plugin.empty() ? kRetrievalHead : c.retrieval_head.plugin;
  if (retrieval_task_ && head != task.default_head())
    throw InputError(fmt::format("{}: the {} task uses the {} head, not '{}'", c.head.where, task.kind(),
                                 task.default_head(), head));
  if (c.retrieval_head.present && retrieval_task_)
    throw InputError(fmt::format("{}: the {} task configures its retrieval head in [head]; remove [retrieval_head]",
                                 c.retrieval_head.where, task.kind()));
  if (c.retrieval_head.present && retrieval_coeff_ <= 0.f)
    throw InputError(fmt::format("{}: [retrieval_head] configures the auxiliary retrieval loss, which is off: set "
                                 "[train] retrieval_loss_coeff > 0 or remove the section",
                                 c.retrieval_head.where));
  check_section(registry, PluginKind::Head, c.head, head);
  if (c.retrieval_head.present) check_section(registry, PluginKind::Head, c.retrieval_head, aux_head);
  return {head, aux_head};
}

void MuxModel::build_components(const PipelineConfig& c, Registry& registry, const HeadNames& heads) {
  // Each component gets its own seed and stream, so adding one does not shift another's init.
  rngs_.reserve(8);
  auto component_ctx = [&](uint64_t salt) {
    BuildContext x = ctx_;
    x.seed = ctx_.seed * 1000003u + salt;
    rngs_.emplace_back(x.seed);
    x.rng = &rngs_.back();
    return x;
  };

  if (ctx_.input == InputKind::Sequence) {
    Rng& r = rngs_.emplace_back(ctx_.seed * 1000003u + 1);
    embed_ = register_module("embed", std::make_shared<TaskEmbedding>(
                                          ctx_.vocab, ctx_.seq_len, ctx_.dim, static_cast<float>(c.model.get_float("embedding_stddev")),
                                          r, static_cast<float>(c.model.get_float("position_stddev"))));
  }
  demux_ = registry.create<Demultiplexer>(c.demux.plugin, c.demux.options, component_ctx(2), c.demux.where);
  ctx_.prefix_len = demux_->prefix_length();
  mux_ = registry.create<Multiplexer>(c.mux.plugin, c.mux.options, component_ctx(3), c.mux.where);
  backbone_ = registry.create<Backbone>(c.backbone.plugin, c.backbone.options, component_ctx(4), c.backbone.where);
  register_module("mux", mux_);
  register_module("backbone", backbone_);
  register_module("demux", demux_);
  names_ = fmt::format("{} mux -> {} backbone -> {} demux", c.mux.plugin, c.backbone.plugin, c.demux.plugin);

  if (!retrieval_task_) {
    head_ = registry.create<Head>(heads.head, c.head.options, component_ctx(5), c.head.where);
    register_module("head", head_);
    // At inference only the prefix and position 0 need demultiplexing when the head reads position 0
    // alone and the demux is position-wise: at N = 40 that was a third of the inference time.
    cls_rows_only_ = head_->reads_first_position_only() && demux_->position_wise();
    names_ += fmt::format(" -> {} head", heads.head);
  }
  if (retrieval_task_ || retrieval_coeff_ > 0.f) {
    const PluginSection& s = retrieval_task_ ? c.head : c.retrieval_head;
    retrieval_ = registry.create<Head>(retrieval_task_ ? heads.head : heads.aux_head, s.options, component_ctx(6),
                                      s.present ? s.where : std::string("[train] retrieval_loss_coeff"));
    register_module("retrieval_head", retrieval_);
    names_ += retrieval_task_ ? " -> retrieval head" : fmt::format(" (+ retrieval loss x{})", retrieval_coeff_);
  }
}

// [model] linear_init_stddev: the reference code's initialisation (Hugging Face `init_weights`) in place
// of each plugin's own (PyTorch's default uniform for dense layers): the weights of every dense layer
// after the embedding drawn from N(0, std), every bias zero. A dense weight is a parameter named
// `*.weight` with 2 dims (or 3: one matrix per instance, as in the mlp demux) whose layer is not a norm
// (`*norm*.weight` are layer-norm gains, kept at 1); convolution kernels (4 dims), learned prefixes and
// keys are left as built. The mux keeps its own: its codes are what keeps the instances apart.
void MuxModel::reinit_normal(float stddev, uint64_t seed) {
  NoGradGuard no_grad;
  Rng rng(seed);
  auto ends_with = [](const std::string& s, std::string_view tail) {
    return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
  };
  for (auto& [name, p] : named_parameters()) {
    if (name.rfind("mux.", 0) == 0 || name.rfind("embed.", 0) == 0) continue;
    if (ends_with(name, ".bias")) {
      p.fill_(0.f);
    } else if (ends_with(name, ".weight") && (p.dim() == 2 || p.dim() == 3)) {
      const std::size_t layer = name.rfind('.', name.size() - 8);  // the segment before ".weight"
      if (name.find("norm", layer == std::string::npos ? 0 : layer) == std::string::npos)
        p.copy_(Tensor::randn(p.shape(), rng, 0.f, stddev));
    }
  }
}

std::string MuxModel::summary() const { return names_; }

void MuxModel::check_fit() {
  // One tiny forward pass with every target ignored: a plugin that cannot take its neighbour's
  // output (a CNN backbone on token states, a demux built for another N) fails here, at build time,
  // with the whole chain named, instead of at the first training step.
  NoGradGuard no_grad;
  const int64_t n = ctx_.instances;
  Batch probe;
  if (ctx_.input == InputKind::Sequence) {
    probe.inputs = Tensor::full({n, 1, ctx_.seq_len}, 3.f).to(DType::i32);
  } else {
    probe.inputs = Tensor::zeros({n, 1, ctx_.channels * ctx_.height * ctx_.width});
  }
  probe.targets = Tensor::full(task_token_level_ ? Shape{n, 1, ctx_.seq_len} : Shape{n, 1}, static_cast<float>(kIgnore))
                      .to(DType::i32);
  if (retrieval_task_) probe.targets = probe.inputs;
  const bool was_training = is_training();
  eval();
  try {
    forward(probe);
  } catch (const std::exception& e) {
    train(was_training);
    throw InputError(fmt::format("the pipeline's plugins do not fit together for the {} task ({}): {}", ctx_.task,
                                 names_, e.what()));
  }
  train(was_training);
}

namespace {

// Adds the time since the last lap to a part of the profile (nothing when no profile is attached).
class Laps {
 public:
  explicit Laps(ForwardProfile* p) : p_(p), last_(p ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{}) {}
  void lap(double ForwardProfile::*part) {
    if (!p_) return;
    const auto now = std::chrono::steady_clock::now();
    p_->*part += std::chrono::duration<double>(now - last_).count();
    last_ = now;
  }
  ~Laps() {
    if (p_) ++p_->passes;
  }

 private:
  ForwardProfile* p_;
  std::chrono::steady_clock::time_point last_;
};

}  // namespace

ModelOutput MuxModel::forward(const Batch& batch) {
  const int64_t n = ctx_.instances;
  if (batch.inputs.size(0) != n)
    throw std::invalid_argument(fmt::format("model: batch has {} instances, model built for N = {}", batch.inputs.size(0), n));
  Laps laps(profile_);
  Tensor x, mask, own_mask;
  if (ctx_.input == InputKind::Sequence) {
    x = demux_->prepare(embed_->forward(batch.inputs));
    mask = sequence_mask(batch.inputs, ctx_.prefix_len);
    own_mask = instance_mask(batch.inputs, ctx_.prefix_len);
  } else if (ctx_.input == InputKind::Vector) {
    x = batch.inputs.reshape({n, batch.inputs.size(1), -1});
  } else {
    x = batch.inputs.reshape({n, batch.inputs.size(1), ctx_.channels, ctx_.height, ctx_.width});
  }
  laps.lap(&ForwardProfile::embed);
  Tensor muxed = own_mask.defined() ? mux_->forward_masked(x, own_mask) : mux_->forward(x);
  laps.lap(&ForwardProfile::mux);
  Tensor h = backbone_->forward(muxed, mask);
  laps.lap(&ForwardProfile::backbone);
  // Inference only (training keeps the general path, which the tests compare this one with).
  if (cls_rows_only_ && !is_training() && h.dim() == 3) h = h.slice(1, 0, ctx_.prefix_len + 1);
  Tensor states = demux_->forward(h);
  laps.lap(&ForwardProfile::demux);

  ModelOutput out;
  if (retrieval_task_) {
    out.main = retrieval_->forward(states, batch.targets);
    out.loss = ops::mul(out.main.loss, retrieval_coeff_);
    laps.lap(&ForwardProfile::head);
    return out;
  }
  out.main = head_->forward(states, batch.targets);
  out.loss = ops::mul(out.main.loss, task_coeff_);
  if (retrieval_ && is_training()) {  // an auxiliary training signal: evaluation needs only the task head
    out.retrieval = retrieval_->forward(states, token_targets(batch.inputs));
    out.loss = ops::add(out.loss, ops::mul(out.retrieval.loss, retrieval_coeff_));
  }
  laps.lap(&ForwardProfile::head);
  return out;
}

}  // namespace datamux::runtime
