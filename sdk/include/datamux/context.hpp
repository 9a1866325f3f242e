// datamux/context.hpp - what a plugin factory knows about the model it is built into.
#pragma once

#include <datamux/tensor.hpp>

#include <cstdint>
#include <string>

namespace datamux {

/// Shape of the data entering the multiplexer, per instance.
enum class InputKind : uint8_t {
  Sequence,  // [N, B, L, dim] embedded tokens
  Vector,    // [N, B, dim] flat features (e.g. flattened images)
  Image,     // [N, B, C, H, W]
};
const char* input_kind_name(InputKind k);

struct BuildContext {
  int64_t instances = 1;     // N: inputs multiplexed into one backbone pass
  InputKind input = InputKind::Sequence;
  int64_t dim = 0;           // size of the last axis entering the mux (Sequence, Vector)
  int64_t hidden = 0;        // model width: backbone output, demux input and output
  int64_t seq_len = 0;       // L: tokens per instance before any demux prefix (Sequence)
  int64_t prefix_len = 0;    // P: prefix tokens the demux prepends (set before the backbone is built)
  int64_t vocab = 0;         // token vocabulary size (text tasks), 0 otherwise
  int64_t num_classes = 0;   // task classes (classification, tagging), 0 otherwise
  int64_t channels = 0, height = 0, width = 0;  // image shape (Image)
  std::string task;          // task kind, e.g. "retrieval", "text_classification"
  uint64_t seed = 0;         // this component's seed (derived from the pipeline seed)
  Rng* rng = nullptr;        // initialisation stream for this component
};

}  // namespace datamux
