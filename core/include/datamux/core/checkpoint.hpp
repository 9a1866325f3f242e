// datamux/core/checkpoint.hpp - named tensors in the safetensors format (Hugging Face).
//
// Layout (https://github.com/huggingface/safetensors, "Format"):
//   8 bytes   N, the header length, unsigned 64-bit little-endian
//   N bytes   JSON: {"<name>": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, ...,
//             "__metadata__": {"<key>": "<string>"}}, padded with spaces to a multiple of 8
//   the rest  tensor bytes, little-endian, row-major; offsets are relative to the start of this part
// Files from PyTorch's safetensors.torch.save_file load here, and ours load there (F32, I32, BF16).
//
// A file is read with full validation: the tensors must tile the data part exactly (no gap, no
// overlap, each one dtype size * shape bytes), so a truncated or hand-edited file is reported with
// its path and what is wrong (InputError), never read out of bounds. Writes are atomic (atomic_file.hpp).
//
//   save_safetensors("model.safetensors", model.state(), {{"datamux.step", "1000"}});
//   LoadReport r = load_into(model, "model.safetensors", /*strict=*/true);
#pragma once

#include <cstdint>
#include <datamux/module.hpp>
#include <datamux/tensor.hpp>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace datamux {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;
using Metadata = std::vector<std::pair<std::string, std::string>>;

/// Writes `tensors` (any layout; views are written as their logical contents) and string `metadata` to
/// `path`, atomically. Data is laid out in the given order. Throws std::invalid_argument for an empty or
/// duplicate name, a name or metadata key "__metadata__", or an undefined tensor; InputError if the
/// file cannot be written.
void save_safetensors(const std::string& path, const NamedTensors& tensors, const Metadata& metadata = {});

/// What a safetensors file holds.
struct SafetensorsFile {
  std::map<std::string, Tensor> tensors;  // contiguous, fresh storage
  std::map<std::string, std::string> metadata;
};

/// Reads a whole file. Throws InputError naming `path` when the file is missing, unreadable, truncated,
/// its header is not valid JSON or lies about dtypes, shapes or offsets, or a dtype is not F32, I32 or BF16.
SafetensorsFile load_safetensors(const std::string& path);

/// The outcome of loading a checkpoint into a module.
struct LoadReport {
  int64_t loaded = 0;                   // tensors copied into the module
  std::vector<std::string> missing;     // in the module, not in the file (kept their values)
  std::vector<std::string> unexpected;  // in the file, not in the module (ignored)
  std::vector<std::string> mismatched;  // in both with different shapes (kept their values), as
                                        // "name: file [2, 3], module [3, 3]"
  bool clean() const { return missing.empty() && unexpected.empty() && mismatched.empty(); }
};

/// Copies the file's tensors into `module.state()` (parameters and buffers) by name. An F32 or BF16
/// tensor loads into an f32 one (converted); other dtype pairs count as mismatched. With `strict`, any
/// missing, unexpected or mismatched key throws InputError listing them, and the module is unchanged.
/// Without it, what matches is copied and the rest is reported.
LoadReport load_into(Module& module, const std::string& path, bool strict = true);

/// `tensors` with `prefix` prepended to each name, to store several sets in one file (e.g.
/// "optimizer." for Optimizer::state() next to the model's state).
NamedTensors with_prefix(const std::string& prefix, const NamedTensors& tensors);
/// The entries whose name starts with `prefix`, with the prefix removed.
std::map<std::string, Tensor> select_prefix(const std::map<std::string, Tensor>& tensors, const std::string& prefix);

}  // namespace datamux
