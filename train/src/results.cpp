// results.json, the resolved pipeline and checkpoints, written atomically.
#include <datamux/core/atomic_file.hpp>
#include <datamux/core/checkpoint.hpp>
#include <datamux/core/precision.hpp>
#include <datamux/train/results.hpp>
#include <datamux/train/trainer.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <sys/resource.h>

#include <filesystem>

#ifndef DATAMUX_GIT_COMMIT
#define DATAMUX_GIT_COMMIT "unknown"
#endif

namespace datamux::runtime {
namespace fs = std::filesystem;

ResultsWriter::ResultsWriter(std::string dir, const PipelineConfig& config) : dir_(std::move(dir)), config_(config) {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) throw InputError(fmt::format("[output] dir = \"{}\": cannot create it: {}", dir_, ec.message()));
}

void ResultsWriter::write_pipeline() const { write_file_atomic((fs::path(dir_) / "pipeline.toml").string(), config_.resolved_toml); }

std::string ResultsWriter::checkpoint_path() const { return (fs::path(dir_) / "model.safetensors").string(); }

std::string ResultsWriter::file_path(const std::string& name) const { return (fs::path(dir_) / name).string(); }

std::string ResultsWriter::checkpoint_note() const {
  return checkpoint_written_ ? fmt::format("the last good checkpoint is {}", checkpoint_path())
                             : std::string("no checkpoint was written before that step");
}

void ResultsWriter::write_checkpoint(const Module& model, const std::vector<std::pair<std::string, std::string>>& metadata) {
  save_safetensors(checkpoint_path(), model.state(), metadata);
  checkpoint_written_ = true;
}

void ResultsWriter::write_results(const RunSummary& s, Split split, std::size_t peak_tensor_bytes) const {
  using nlohmann::json;
  const Accuracy& a = s.final_eval.accuracy;
  json per = json::array();
  for (std::size_t i = 0; i < a.instance_total.size(); ++i) per.push_back(a.instance_value(i));
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  json j = {
      {"state", "done"},
      {"pipeline", config_.path},
      {"resolved_pipeline", config_.resolved_toml},
      {"commit", DATAMUX_GIT_COMMIT},
      {"instances", config_.model.get_int("instances")},
      {"mux", config_.mux.plugin},
      {"backbone", config_.backbone.plugin},
      {"demux", config_.demux.plugin},
      {"task", config_.task.get_string("kind")},
      {"seed", config_.model.get_int("seed")},
      {"dtype", effective_matmul_precision() == MatmulPrecision::bf16 ? "bf16" : "f32"},  // what ran, not what was asked
      {"steps", s.steps_done},
      {"split", split_name(split)},
      {"accuracy", a.value()},
      {"correct", a.correct},
      {"total", a.total},
      {"examples", s.final_eval.examples},
      {"loss", s.final_eval.loss},
      {"per_instance_accuracy", per},
      {"train_examples_per_s", s.train_examples_per_s},
      {"inference_examples_per_s", s.infer_examples_per_s},
      {"wall_seconds", s.wall_seconds},
      {"peak_tensor_bytes", peak_tensor_bytes},
      {"peak_rss_bytes", static_cast<int64_t>(ru.ru_maxrss) * 1024},
  };
  if (s.baseline) {
    j["baseline"] = s.baseline->name;
    j["baseline_accuracy"] = s.baseline->accuracy;
  }
  write_file_atomic((fs::path(dir_) / "results.json").string(), j.dump(2) + "\n");
}

void ResultsWriter::write_interrupted(const RunSummary& s, const std::string& signal) const {
  nlohmann::json j = {
      {"state", "interrupted"},
      {"signal", signal},
      {"pipeline", config_.path},
      {"resolved_pipeline", config_.resolved_toml},
      {"commit", DATAMUX_GIT_COMMIT},
      {"seed", config_.model.get_int("seed")},
      {"steps", s.steps_done},
      {"steps_planned", config_.train.get_int("steps")},
      {"checkpoint", checkpoint_written_ ? "model.safetensors" : ""},
      {"resume", fmt::format("datamux run {} --resume {}", config_.path, dir_)},
      {"wall_seconds", s.wall_seconds},
  };
  write_file_atomic((fs::path(dir_) / "results.json").string(), j.dump(2) + "\n");
}

}  // namespace datamux::runtime
