// datamux/train/model.hpp - a DataMUX model assembled from plugins:
// task embedding -> demux.prepare -> mux -> backbone -> demux -> head(s).
#pragma once

#include <datamux/registry.hpp>
#include <datamux/pipeline/pipeline_config.hpp>
#include <datamux/tasks/task.hpp>

#include <memory>

namespace datamux::runtime {

/// Token + position embedding and layer norm, e(x) in the paper; shared by all instances. Public
/// because `datamux bench` builds the plain N=1 reference model from it.
class TaskEmbedding : public Module {
 public:
  // position_stddev < 0: the token embeddings' stddev.
  TaskEmbedding(int64_t vocab, int64_t length, int64_t dim, float stddev, Rng& rng, float position_stddev = -1.f);
  Tensor forward(const Tensor& ids) const;  // i32 [N, B, L] -> [N, B, L, dim]

 private:
  Tensor tokens_, positions_, norm_weight_, norm_bias_;
};

struct ModelOutput {
  Tensor loss;            // what the optimizer minimises
  HeadOutput main;        // the head whose accuracy is reported (the task head, or retrieval for that task)
  HeadOutput retrieval;   // the auxiliary retrieval head, when weighted in
};

/// Wall seconds spent in each part of MuxModel::forward, summed over the passes made while it is attached
/// (`datamux bench --group profile`). oneDNN's CPU primitives return when their work is done, so a clock
/// read between the parts measures them.
struct ForwardProfile {
  double embed = 0, mux = 0, backbone = 0, demux = 0, head = 0;  // embed: embedding + demux.prepare
  int64_t passes = 0;
};

class MuxModel : public Module {
 public:
  MuxModel(const PipelineConfig& config, const Task& task, Registry& registry);
  ModelOutput forward(const Batch& batch);
  const BuildContext& context() const { return ctx_; }
  /// "gaussian mux -> transformer backbone -> index demux -> retrieval head", for the log.
  std::string summary() const;
  /// Times the parts of every forward pass into `profile` (nullptr: stop); the caller keeps it alive.
  void attach_profile(ForwardProfile* profile) { profile_ = profile; }

 private:
  struct HeadNames {
    std::string head;      // [head] plugin, else the task's default
    std::string aux_head;  // [retrieval_head] plugin, else the retrieval head
  };
  void init_context(const PipelineConfig& c, const Task& task);
  HeadNames check_sections(const PipelineConfig& c, const Task& task, Registry& registry);
  void build_components(const PipelineConfig& c, Registry& registry, const HeadNames& heads);
  void check_fit();
  void reinit_normal(float stddev, uint64_t seed);

  BuildContext ctx_;
  bool task_token_level_ = false;
  float task_coeff_ = 1.f, retrieval_coeff_ = 0.f;
  bool retrieval_task_ = false;
  bool cls_rows_only_ = false;  // demultiplex only the prefix and first token (see model.cpp)
  std::string names_;
  std::shared_ptr<TaskEmbedding> embed_;
  std::shared_ptr<Multiplexer> mux_;
  std::shared_ptr<Backbone> backbone_;
  std::shared_ptr<Demultiplexer> demux_;
  std::shared_ptr<Head> head_;       // task head (absent for the retrieval task)
  std::shared_ptr<Head> retrieval_;  // retrieval head (the retrieval task, or the auxiliary loss)
  std::vector<Rng> rngs_;            // one init stream per component, kept alive for the build
  ForwardProfile* profile_ = nullptr;
};

}  // namespace datamux::runtime
