// datamux/train/results.hpp - the files a run leaves: pipeline.toml, model.safetensors, results.json
// (and metrics.csv, the training curve, written row by row by the training loop).
// Each is written to a temp file and renamed, so an interrupted run never leaves half a file.
#pragma once

#include <datamux/module.hpp>
#include <datamux/pipeline/pipeline_config.hpp>

#include <string>
#include <vector>

namespace datamux::runtime {

struct RunSummary;
enum class Split;

class ResultsWriter {
 public:
  ResultsWriter(std::string dir, const PipelineConfig& config);
  void write_pipeline() const;
  void write_checkpoint(const Module& model, const std::vector<std::pair<std::string, std::string>>& metadata);
  void write_results(const RunSummary& summary, Split split, std::size_t peak_tensor_bytes) const;
  /// results.json of a run stopped by `signal` before its last step: state "interrupted", the steps done,
  /// no accuracy (nothing was evaluated), and how to resume.
  void write_interrupted(const RunSummary& summary, const std::string& signal) const;
  const std::string& dir() const { return dir_; }
  std::string checkpoint_path() const;
  /// Another file of the run folder, e.g. metrics.csv (the training curve).
  std::string file_path(const std::string& name) const;
  /// "the last good checkpoint is <path>" or "no checkpoint was written yet".
  std::string checkpoint_note() const;

 private:
  std::string dir_;
  const PipelineConfig& config_;
  bool checkpoint_written_ = false;
};

}  // namespace datamux::runtime
