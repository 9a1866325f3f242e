// bench_models.hpp - the model-level `datamux bench` groups and the models they build (internal).
#pragma once

#include <datamux/backbone.hpp>
#include <datamux/registry.hpp>
#include <datamux/bench/bench.hpp>

#include <memory>
#include <string>
#include <vector>

namespace datamux::runtime::bench_detail {

/// One Transformer encoder layer's shape (the issue's: batch 32, length 64, hidden 256, 4 heads, ffn 1024).
struct EncoderShape {
  int64_t batch, length, hidden, heads, ffn;
};
EncoderShape encoder_shape(BenchSize size);
/// The transformer backbone plugin with one layer (gelu, post-LN, dropout 0.1 as torch's default).
std::shared_ptr<Backbone> make_encoder_layer(Registry& registry, const EncoderShape& s);

/// Throws InputError naming the file when the training-step pipeline does not exist.
void check_pipeline_exists(const std::string& path);

/// Multiplexed inference against N, for a [CLS] head and for token-level retrieval logits.
void run_mux(const BenchOptions& o, Registry& registry, std::vector<BenchRow>& rows);
/// One optimizer step of the default pipeline.
void run_train(const BenchOptions& o, std::vector<BenchRow>& rows);
/// Per-part time of one inference pass of o.pipeline at each N (bench_profile.cpp).
void run_profile(const BenchOptions& o, std::vector<BenchRow>& rows);

}  // namespace datamux::runtime::bench_detail
