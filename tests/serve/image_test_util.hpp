// Helpers of the serve image tests: a small image data set generated here (IDX files, as Fashion-MNIST
// ships them, so the runtime's own image task reads it), and tiny image bundles (MLP and CNN backbones,
// N = 1 and 4, f32 or bf16) trained once per build tree like the text bundle (serve_test_util.hpp).
//
// The images are rows x cols bytes: noise 0..79 everywhere, and class c (0..9) paints one 2x2 block of
// 180..255 at a place of its own, so a few hundred steps learn it. The raw bytes are kept so that a test
// can send exactly the pixels the evaluation read.
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "serve_test_util.hpp"

namespace datamux::testing {

struct RawImages {
  int64_t rows = 0, cols = 0;
  std::vector<std::vector<uint8_t>> images;  // rows * cols bytes each
  std::vector<uint8_t> labels;
};

inline RawImages make_raw_images(int64_t rows, int64_t cols, int count, uint64_t seed) {
  RawImages r;
  r.rows = rows;
  r.cols = cols;
  std::mt19937_64 rng(seed);
  const int64_t blocks_across = cols / 2;
  for (int e = 0; e < count; ++e) {
    const uint8_t label = static_cast<uint8_t>(rng() % 10);
    std::vector<uint8_t> img(static_cast<std::size_t>(rows * cols));
    for (auto& p : img) p = static_cast<uint8_t>(rng() % 80);
    const int64_t br = (label / blocks_across) * 2, bc = (label % blocks_across) * 2;
    for (int64_t y = br; y < br + 2; ++y)
      for (int64_t x = bc; x < bc + 2; ++x) img[static_cast<std::size_t>(y * cols + x)] = static_cast<uint8_t>(180 + rng() % 76);
    r.images.push_back(std::move(img));
    r.labels.push_back(label);
  }
  return r;
}

// IDX, uncompressed (the reader looks at the bytes, not the .gz name): magic 00 00 08 NN, sizes big-endian.
inline void write_idx(const fs::path& path, const std::vector<uint32_t>& dims, const std::vector<uint8_t>& bytes) {
  std::ofstream f(path, std::ios::binary);
  const char magic[4] = {0, 0, 0x08, static_cast<char>(dims.size())};
  f.write(magic, 4);
  for (uint32_t d : dims) {
    const char be[4] = {static_cast<char>(d >> 24), static_cast<char>(d >> 16), static_cast<char>(d >> 8), static_cast<char>(d)};
    f.write(be, 4);
  }
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

inline void write_image_set(const fs::path& dir, const std::string& prefix, const RawImages& r) {
  std::vector<uint8_t> pixels;
  for (const auto& img : r.images) pixels.insert(pixels.end(), img.begin(), img.end());
  const auto n = static_cast<uint32_t>(r.images.size());
  write_idx(dir / (prefix + "-images-idx3-ubyte.gz"), {n, static_cast<uint32_t>(r.rows), static_cast<uint32_t>(r.cols)},
            pixels);
  write_idx(dir / (prefix + "-labels-idx1-ubyte.gz"), {n}, r.labels);
}

/// The generated data set of `name`: its folder (the four Fashion-MNIST file names) and its test images.
struct ImageData {
  fs::path dir;
  RawImages test;
};

inline ImageData image_data(const fs::path& root, int64_t rows, int64_t cols) {
  ImageData d;
  d.dir = root / "images";
  fs::create_directories(d.dir);
  d.test = make_raw_images(rows, cols, 200, 12);
  // Written once (other test processes may be reading them); the caller holds the bundle's lock.
  if (!fs::exists(d.dir / "written")) {
    write_image_set(d.dir, "train", make_raw_images(rows, cols, 800, 11));
    write_image_set(d.dir, "t10k", d.test);
    std::ofstream(d.dir / "written") << "ok\n";
  }
  return d;
}

inline std::string image_pipeline(const fs::path& data_dir, const std::string& backbone, int64_t n,
                                  const std::string& dtype) {
  const bool cnn = backbone == "cnn";
  return fmt::format(R"([task]
kind = "image_classification"
data_dir = "{}"
validation_fraction = 0.0

[model]
instances = {}
hidden = 32
seed = 1
threads = 1            # tiny matrices: one thread, no OpenMP barriers on a busy machine
input = "{}"
dtype = "{}"

[mux]
{}

[backbone]
{}

[demux]
plugin = "mlp"

[head]
plugin = "sequence_classification"
per_instance_hidden = true

[train]
steps = 300
batch = 16
lr = 3e-3
weight_decay = 0.0
warmup_steps = 20

[eval]
batch = 16
throughput_steps = 1
)",
                     data_dir.string(), n, cnn ? "image" : "flat", dtype,
                     cnn ? "plugin = \"conv_gaussian\"" : "plugin = \"gaussian\"\nnorm = 8.0",
                     cnn ? "plugin = \"cnn\"\nchannels = [4, 8]\nkernel = 3\npadding = 1"
                         : "plugin = \"mlp\"\ndepth = 2\nwidth = 64");
}

/// Trains an image bundle (N = 1 and 4) on a generated rows x cols data set unless already there; returns
/// the run folders, ascending N, and the data set.
inline std::vector<std::string> trained_image_runs(const std::string& name, const std::string& backbone,
                                                   const std::string& dtype = "f32", int64_t rows = 8, int64_t cols = 8,
                                                   ImageData* data = nullptr) {
  const fs::path root = fs::path(DATAMUX_BINARY_DIR) / "serve-test-bundle" / name;
  fs::create_directories(root);
  const int lock = ::open((root / ".lock").c_str(), O_CREAT | O_RDWR, 0644);
  ::flock(lock, LOCK_EX);
  ImageData d = image_data(root, rows, cols);
  std::vector<std::string> dirs;
  for (int64_t n : {int64_t{1}, int64_t{4}}) {
    const fs::path dir = root / fmt::format("n{}", n);
    dirs.push_back(dir.string());
    const fs::path toml = root / fmt::format("n{}.toml", n);
    const std::string text = image_pipeline(d.dir, backbone, n, dtype);
    std::stringstream had;
    had << std::ifstream(toml).rdbuf();
    if (had.str() == text && fs::exists(dir / "results.json") && fs::exists(dir / "model.safetensors")) continue;
    std::ofstream(toml) << text;
    runtime::RunOptions o;
    o.out_dir = dir.string();
    o.overwrite = true;
    o.log_level = runtime::LogLevel::Quiet;
    runtime::run_pipeline(runtime::load_pipeline(toml.string()), o);
  }
  ::flock(lock, LOCK_UN);
  ::close(lock);
  if (data) *data = std::move(d);
  return dirs;
}

}  // namespace datamux::testing
