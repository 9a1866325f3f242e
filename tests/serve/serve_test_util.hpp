// Helpers of the serve tests: a tiny bundle (text classification at N = 1, 2, 4) trained on a data set
// generated here, an in-process server, and an HTTP client.
//
// The bundle trains once per build tree (a few seconds) into build/serve-test-bundle/, under a file lock
// so that test processes running side by side (ctest -j) share it instead of racing.
#pragma once

#include <datamux/train/trainer.hpp>
#include <datamux/serve/bundle.hpp>
#include <datamux/serve/server.hpp>
#include <fcntl.h>
#include <fmt/format.h>
#include <httplib.h>
#include <sys/file.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace datamux::testing {

namespace fs = std::filesystem;

inline const std::vector<int64_t>& tiny_ns() {
  static const std::vector<int64_t> ns = {1, 2, 4};
  return ns;
}

// Sentences of five words with one sentiment word: positive ones are labelled pos, negative ones neg.
inline void write_sentiment_tsv(const fs::path& path, int examples, uint64_t seed) {
  const std::vector<std::string> pos = {"great", "good", "fine", "happy", "love"};
  const std::vector<std::string> neg = {"bad", "awful", "sad", "hate", "poor"};
  const std::vector<std::string> filler = {"the", "a", "movie", "film", "was", "is", "it", "very", "this", "plot"};
  std::mt19937_64 rng(seed);
  std::ofstream f(path);
  f << "text\tlabel\n";
  for (int e = 0; e < examples; ++e) {
    const bool positive = rng() % 2;
    std::vector<std::string> words;
    for (int k = 0; k < 4; ++k) words.push_back(filler[rng() % filler.size()]);
    const auto& s = positive ? pos : neg;
    words.insert(words.begin() + static_cast<std::ptrdiff_t>(rng() % 5), s[rng() % s.size()]);
    std::string line;
    for (const auto& w : words) line += (line.empty() ? "" : " ") + w;
    f << line << '\t' << (positive ? "pos" : "neg") << '\n';
  }
}

inline std::string tiny_pipeline(const fs::path& tsv, int64_t n, int64_t steps) {
  return fmt::format(R"([task]
kind = "text_classification"
train_file = "{}"
length = 8
vocab = 0
test_fraction = 0.25
validation_fraction = 0.0

[model]
instances = {}
hidden = 32
seed = 1
threads = 1            # tiny matrices: one thread, no OpenMP barriers on a busy machine

[mux]
plugin = "gaussian"
norm = 1.0

[backbone]
plugin = "transformer"
layers = 1
heads = 2
ffn = 64
dropout = 0.0

[demux]
plugin = "index"

[head]
plugin = "sequence_classification"
pooling = "cls"

[train]
steps = {}
batch = 16
lr = 3e-3
warmup_steps = 10
retrieval_loss_coeff = 0.0
task_loss_coeff = 1.0

[eval]
batch = 16
throughput_steps = 1
)",
                     tsv.string(), n, steps);
}

/// Trains `name` (one run folder per N) unless already there; returns the run folders, ascending N.
inline std::vector<std::string> trained_runs(const std::string& name, int examples = 400, uint64_t data_seed = 7,
                                             int64_t steps = 600) {
  const fs::path root = fs::path(DATAMUX_BINARY_DIR) / "serve-test-bundle" / name;
  fs::create_directories(root);
  const int lock = ::open((root / ".lock").c_str(), O_CREAT | O_RDWR, 0644);
  ::flock(lock, LOCK_EX);
  const fs::path tsv = root / "sentiment.tsv";
  if (!fs::exists(tsv)) write_sentiment_tsv(tsv, examples, data_seed);
  std::vector<std::string> dirs;
  for (int64_t n : tiny_ns()) {
    const fs::path dir = root / fmt::format("n{}", n);
    dirs.push_back(dir.string());
    const fs::path toml = root / fmt::format("n{}.toml", n);
    const std::string text = tiny_pipeline(tsv, n, steps);
    std::stringstream had;
    had << std::ifstream(toml).rdbuf();
    // Trained already with this very pipeline: reuse it.
    if (had.str() == text && fs::exists(dir / "results.json") && fs::exists(dir / "model.safetensors")) continue;
    std::ofstream(toml) << text;
    runtime::RunOptions o;
    o.out_dir = dir.string();
    o.log_level = runtime::LogLevel::Quiet;
    runtime::run_pipeline(runtime::load_pipeline(toml.string()), o);
  }
  ::flock(lock, LOCK_UN);
  ::close(lock);
  return dirs;
}

inline serve::Bundle& tiny_bundle() {
  static serve::Bundle b = serve::Bundle::load(trained_runs("sentiment"));
  return b;
}

inline serve::ServeOptions test_options(serve::Policy policy) {
  serve::ServeOptions o;
  o.port = 0;
  o.policy = policy;
  o.warmup_passes = 2;
  o.http_threads = 64;
  return o;
}

inline serve::Policy fixed(int64_t n) {
  serve::Policy p;
  p.kind = serve::Policy::Kind::Fixed;
  p.fixed_n = n;
  return p;
}

inline httplib::Client client_for(const serve::Server& s) {
  httplib::Client c("127.0.0.1", s.port());
  c.set_read_timeout(std::chrono::seconds(20));
  c.set_tcp_nodelay(true);
  return c;
}

}  // namespace datamux::testing
