// Standard layers, initialised as their torch.nn namesakes.
#include <datamux/nn.hpp>

#include <cmath>

namespace datamux::nn {

Linear::Linear(int64_t in, int64_t out, Rng& rng, bool with_bias) {
  weight = register_parameter("weight", Tensor::kaiming_uniform({out, in}, rng));
  if (with_bias) {
    const float bound = 1.f / std::sqrt(static_cast<float>(in));
    bias = register_parameter("bias", Tensor::uniform({out}, rng, -bound, bound));
  }
}

LayerNorm::LayerNorm(int64_t dim, float eps_) : eps(eps_) {
  weight = register_parameter("weight", Tensor::ones({dim}));
  bias = register_parameter("bias", Tensor::zeros({dim}));
}

Embedding::Embedding(int64_t vocab, int64_t dim, Rng& rng, float stddev) {
  weight = register_parameter("weight", Tensor::randn({vocab, dim}, rng, 0.f, stddev));
}

Conv2d::Conv2d(int64_t in, int64_t out, int64_t kernel, Rng& rng, int64_t stride_, int64_t padding_, bool with_bias)
    : stride(stride_), padding(padding_) {
  weight = register_parameter("weight", Tensor::kaiming_uniform({out, in, kernel, kernel}, rng));
  if (with_bias) {
    const float bound = 1.f / std::sqrt(static_cast<float>(in * kernel * kernel));
    bias = register_parameter("bias", Tensor::uniform({out}, rng, -bound, bound));
  }
}

}  // namespace datamux::nn
