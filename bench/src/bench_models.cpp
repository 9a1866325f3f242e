// `datamux bench` groups that build whole models: multiplexed inference against N (with a plain N=1
// model as the reference) and one training step of the default pipeline.
#include "bench_models.hpp"

#include <datamux/core/optim.hpp>
#include <datamux/error.hpp>
#include <datamux/head.hpp>
#include <datamux/train/model.hpp>
#include <datamux/pipeline/pipeline_config.hpp>
#include <datamux/tasks/task.hpp>
#include <fmt/format.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "bench_timing.hpp"

namespace datamux::runtime::bench_detail {
namespace fs = std::filesystem;

EncoderShape encoder_shape(BenchSize size) {
  if (size == BenchSize::Smoke) return {2, 8, 32, 2, 64};
  return {32, 64, 256, 4, 1024};
}

namespace {

BuildContext sequence_context(int64_t hidden, int64_t length, int64_t vocab, int64_t classes, Rng* rng) {
  BuildContext ctx;
  ctx.instances = 1;
  ctx.input = InputKind::Sequence;
  ctx.dim = ctx.hidden = hidden;
  ctx.seq_len = length;
  ctx.vocab = vocab;
  ctx.num_classes = classes;
  ctx.seed = 7;
  ctx.rng = rng;
  return ctx;
}

Options transformer_options(int64_t layers, int64_t heads, int64_t ffn) {
  Options t;
  t.set("layers", layers);
  t.set("heads", heads);
  t.set("ffn", ffn);
  t.set("activation", std::string("gelu"));
  t.set("dropout", 0.1);
  return t;
}

}  // namespace

std::shared_ptr<Backbone> make_encoder_layer(Registry& registry, const EncoderShape& s) {
  Rng rng(3);
  const BuildContext ctx = sequence_context(s.hidden, s.length, 0, 0, &rng);
  return registry.create<Backbone>("transformer", transformer_options(1, s.heads, s.ffn), ctx,
                                   "bench encoder layer");
}

void check_pipeline_exists(const std::string& path) {
  if (!fs::is_regular_file(path))
    throw InputError(fmt::format("bench: the training-step pipeline '{}' does not exist; run from the source tree or "
                                 "pass --pipeline FILE",
                                 path));
}

namespace {

// The multiplexed-inference model: 4 layers, hidden 256 (the issue's), 16 multiplexed rows of 64 tokens.
struct MuxShape {
  int64_t layers, hidden, heads, ffn, length, rows, vocab, classes;
};

MuxShape mux_shape(BenchSize size) {
  if (size == BenchSize::Smoke) return {1, 32, 2, 64, 8, 2, 50, 2};
  return {4, 256, 4, 1024, 64, 16, 1000, 2};
}

enum class HeadKind { Cls, Token };

// Shapes and labels only: the bench feeds its own random batches.
class BenchTask : public Task {
 public:
  BenchTask(const MuxShape& s, HeadKind h) : s_(s), head_(h) {}
  std::string kind() const override { return head_ == HeadKind::Cls ? "text_classification" : "retrieval"; }
  void describe(BuildContext& ctx) const override {
    ctx.input = InputKind::Sequence;
    ctx.seq_len = s_.length;
    ctx.vocab = s_.vocab;
    ctx.num_classes = head_ == HeadKind::Cls ? s_.classes : 0;
  }
  bool has_labels() const override { return head_ == HeadKind::Cls; }
  bool token_level() const override { return head_ == HeadKind::Token; }
  Batch next_train_batch(int64_t, int64_t) override { return {}; }
  std::vector<Batch> eval_batches(Split, int64_t, int64_t) const override { return {}; }
  std::string summary() const override { return "bench"; }

 private:
  MuxShape s_;
  HeadKind head_;
};

Batch random_batch(const MuxShape& s, HeadKind h, int64_t n, uint64_t seed) {
  Rng rng(seed);
  std::vector<int32_t> ids(static_cast<std::size_t>(n * s.rows * s.length));
  for (auto& id : ids) id = static_cast<int32_t>(rng.randint(1, s.vocab));  // 0 is padding
  Batch b;
  b.inputs = Tensor::from_ints(ids, {n, s.rows, s.length});
  if (h == HeadKind::Token) {
    b.targets = b.inputs;
  } else {
    std::vector<int32_t> labels(static_cast<std::size_t>(n * s.rows));
    for (auto& l : labels) l = static_cast<int32_t>(rng.randint(0, s.classes));
    b.targets = Tensor::from_ints(labels, {n, s.rows});
  }
  b.examples = n * s.rows;
  return b;
}

// A pipeline file for this shape, written to a temporary file and loaded as a user's would be.
PipelineConfig mux_pipeline(const MuxShape& s, HeadKind h, int64_t n) {
  const bool cls = h == HeadKind::Cls;
  const std::string toml = fmt::format(
      "[task]\nkind = \"retrieval\"\nvocab = {}\nlength = {}\n\n[model]\ninstances = {}\nhidden = {}\nseed = 1\n\n"
      "[mux]\nplugin = \"gaussian\"\nnorm = {}\n\n[backbone]\nplugin = \"transformer\"\nlayers = {}\nheads = {}\nffn = {}\n\n"
      "[demux]\nplugin = \"index\"\n\n{}[train]\ntask_loss_coeff = {}\nretrieval_loss_coeff = {}\n",
      s.vocab, s.length, n, s.hidden, cls ? "1.0" : "20.0", s.layers, s.heads, s.ffn,
      cls ? "[head]\nplugin = \"sequence_classification\"\n\n" : "", cls ? "1.0" : "0.0", cls ? "0.0" : "1.0");
  const fs::path path = fs::temp_directory_path() / fmt::format("datamux-bench-{}-{}.toml", getpid(), n);
  {
    std::ofstream f(path);
    f << toml;
  }
  PipelineConfig c = load_pipeline(path.string());
  fs::remove(path);
  return c;
}

// The reference: no mux, no demux, no prefix. Task embedding -> backbone -> the same head, on [1, B, L].
class PlainModel {
 public:
  PlainModel(Registry& registry, const MuxShape& s, HeadKind h) : rng_(11) {
    const BuildContext ctx = sequence_context(s.hidden, s.length, s.vocab, h == HeadKind::Cls ? s.classes : 0, &rng_);
    embed_ = std::make_shared<TaskEmbedding>(s.vocab, s.length, s.hidden, 0.02f, rng_);
    backbone_ = registry.create<Backbone>("transformer",
                                          transformer_options(s.layers, s.heads, s.ffn), ctx, "bench plain model");
    head_ = registry.create<Head>(h == HeadKind::Cls ? "sequence_classification" : "retrieval",
                                  Options(), ctx, "bench plain model");
    backbone_->eval();
    head_->eval();
  }
  HeadOutput forward(const Batch& b) {
    Tensor x = embed_->forward(b.inputs).squeeze(0);  // [B, L, d]
    return head_->forward(backbone_->forward(x, Tensor()).unsqueeze(0), b.targets);
  }

 private:
  Rng rng_;
  std::shared_ptr<TaskEmbedding> embed_;
  std::shared_ptr<Backbone> backbone_;
  std::shared_ptr<Head> head_;
};

std::vector<int64_t> mux_instances(const BenchOptions& o) {
  if (!o.instances.empty()) return o.instances;
  if (o.size == BenchSize::Smoke) return {1, 2};
  return {1, 2, 5, 10, 20, 40};
}

}  // namespace

void run_mux(const BenchOptions& o, Registry& registry, std::vector<BenchRow>& rows) {
  const MuxShape s = mux_shape(o.size);
  const Budget budget = budget_for(o.size, 0.8);
  for (HeadKind h : {HeadKind::Cls, HeadKind::Token}) {
    const char* head = h == HeadKind::Cls ? "cls" : "token";
    double plain_rate = 0.0;
    {
      PlainModel plain(registry, s, h);
      const Batch b = random_batch(s, h, 1, 5);
      BenchRow row{"mux", fmt::format("{} plain N=1", head)};
      if (o.progress) o.progress("mux " + row.name);
      auto step = [&] {
        NoGradGuard no_grad;
        plain.forward(b);
      };
      account(row, [&] { row.ms = time_median(step, budget, &row.iterations); }, step, 3);
      row.instances = 1;
      row.items_per_s = static_cast<double>(s.rows) / row.ms;
      row.ratio = 1.0;
      row.ms *= 1e3;
      plain_rate = row.items_per_s;
      rows.push_back(row);
    }
    for (int64_t n : mux_instances(o)) {
      BenchTask task(s, h);
      MuxModel model(mux_pipeline(s, h, n), task, registry);
      model.eval();
      const Batch b = random_batch(s, h, n, 6);
      BenchRow row{"mux", fmt::format("{} N={}", head, n)};
      if (o.progress) o.progress("mux " + row.name);
      auto step = [&] {
        NoGradGuard no_grad;
        model.forward(b);
      };
      account(row, [&] { row.ms = time_median(step, budget, &row.iterations); }, step, 3);
      row.instances = n;
      row.items_per_s = static_cast<double>(n * s.rows) / row.ms;
      row.ratio = row.items_per_s / plain_rate;
      row.ms *= 1e3;
      rows.push_back(row);
    }
  }
}

void run_train(const BenchOptions& o, std::vector<BenchRow>& rows) {
  std::vector<std::string> sets;
  if (o.size == BenchSize::Smoke)
    sets = {"model.hidden=32", "model.instances=2", "backbone.layers=1", "backbone.ffn=64", "train.batch=2",
            "task.vocab=50"};
  const PipelineConfig c = load_pipeline(o.pipeline, sets);
  std::unique_ptr<Task> task = make_task(c);
  Registry registry = Registry::with_default_paths();
  for (const auto& p : c.plugin_paths) registry.add_search_path(p);
  MuxModel model(c, *task, registry);
  const int64_t n = model.context().instances, batch = c.train.get_int("batch");
  AdamWOptions ao;
  ao.lr = static_cast<float>(c.train.get_float("lr"));
  ao.beta1 = static_cast<float>(c.train.get_float("beta1"));
  ao.beta2 = static_cast<float>(c.train.get_float("beta2"));
  ao.weight_decay = static_cast<float>(c.train.get_float("weight_decay"));
  AdamW opt(model.named_parameters(), ao);
  const float clip = static_cast<float>(c.train.get_float("clip_norm"));
  const std::vector<Tensor> params = model.parameters();
  std::vector<Batch> batches;  // drawn up front: the step is measured, not the data generator
  for (int i = 0; i < 4; ++i) batches.push_back(task->next_train_batch(n, batch));
  std::size_t next = 0;
  model.train();
  auto step = [&] {
    ModelOutput out = model.forward(batches[next++ % batches.size()]);
    (void)out.loss.item();
    out.loss.backward();
    if (clip > 0.f) clip_grad_norm(params, clip);
    opt.step();
    model.zero_grad();
  };
  BenchRow row{"train", fmt::format("step {} (N={}, batch {})", fs::path(o.pipeline).filename().string(), n, batch)};
  if (o.progress) o.progress("train " + row.name);
  account(row, [&] { row.ms = time_median(step, budget_for(o.size, 1.0), &row.iterations); }, step, 3);
  row.instances = n;
  row.items_per_s = static_cast<double>(n * batch) / row.ms;
  row.ms *= 1e3;
  rows.push_back(row);
}

}  // namespace datamux::runtime::bench_detail
