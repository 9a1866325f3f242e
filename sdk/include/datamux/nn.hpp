// datamux/nn.hpp - the standard layers plugins compose (initialised as their torch.nn namesakes).
#pragma once

#include <datamux/module.hpp>

namespace datamux::nn {

/// y = x W^T + b, W: [out, in] ("weight"), b: [out] ("bias").
class DATAMUX_API Linear : public Module {
 public:
  Linear(int64_t in, int64_t out, Rng& rng, bool bias = true);
  Tensor forward(const Tensor& x) const { return ops::linear(x, weight, bias); }
  /// act(x W^T + b) + residual in one matmul pass (see ops::linear).
  Tensor forward(const Tensor& x, ops::Activation act, const Tensor& residual = Tensor()) const {
    return ops::linear(x, weight, bias, act, residual);
  }
  Tensor weight, bias;
};

/// Layer norm over the last dim with affine "weight" (ones) and "bias" (zeros).
class DATAMUX_API LayerNorm : public Module {
 public:
  explicit LayerNorm(int64_t dim, float eps = 1e-5f);
  Tensor forward(const Tensor& x) const { return ops::layer_norm(x, weight, bias, eps); }
  Tensor weight, bias;
  float eps;
};

/// Token lookup table "weight": [vocab, dim], initialised N(0, 1) like torch.nn.Embedding
/// (pass `stddev` to scale it down, e.g. 0.02 as BERT does).
class DATAMUX_API Embedding : public Module {
 public:
  Embedding(int64_t vocab, int64_t dim, Rng& rng, float stddev = 1.f);
  Tensor forward(const Tensor& ids) const { return ops::embedding(ids, weight); }
  Tensor weight;
};

/// 2-D convolution, "weight": [out, in, k, k], "bias": [out].
class DATAMUX_API Conv2d : public Module {
 public:
  Conv2d(int64_t in, int64_t out, int64_t kernel, Rng& rng, int64_t stride = 1, int64_t padding = 0, bool bias = true);
  Tensor forward(const Tensor& x) const { return ops::conv2d(x, weight, bias, stride, padding); }
  Tensor weight, bias;
  int64_t stride, padding;
};

/// Dropout that follows the module's train/eval mode and owns its random stream.
class DATAMUX_API Dropout : public Module {
 public:
  Dropout(float p, uint64_t seed) : p(p), rng_(seed) {}
  Tensor forward(const Tensor& x) { return ops::dropout(x, p, is_training(), rng_); }
  /// The stream, for a checkpoint that resumes a run exactly.
  Rng& rng() { return rng_; }
  float p;

 private:
  Rng rng_;
};

/// A random stream a module draws from in training (e.g. sampling), registered as a sub-module so
/// that a resumed run restores it (it has no tensors: checkpoints of the model do not change).
///   sampler_ = register_module("sampler", std::make_shared<nn::RandomStream>(ctx.seed));
///   int64_t j = sampler_->rng().randint(0, n);
class DATAMUX_API RandomStream : public Module {
 public:
  explicit RandomStream(uint64_t seed) : rng_(seed) {}
  Rng& rng() { return rng_; }

 private:
  Rng rng_;
};

}  // namespace datamux::nn
