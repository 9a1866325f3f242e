// Cross-entropy: fused log-softmax + negative log-likelihood, with ignore_index and label smoothing
// as torch.nn.functional.cross_entropy defines them (reduction "mean", no class weights):
//   logp = log_softmax(x),  row loss = (1 - eps) * (-logp[t]) + eps * mean_j(-logp[j]),
//   loss = sum over counted rows / count  (rows whose target is ignore_index do not count; 0 if none do).
// Gradient of a counted row: (softmax(x) - ((1 - eps) * onehot(t) + eps / C)) / count.
// Per-row losses are summed serially in row order, so the value does not depend on the thread count.
#include <datamux/core/tensor_util.hpp>
#include <datamux/ops.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "vec_math.hpp"

namespace datamux::ops {
namespace {

namespace vec = datamux::detail::vec;

constexpr int64_t kParallelMin = 1 << 14;

void check_args(const Tensor& logits, const Tensor& targets_in, float label_smoothing) {
  datamux::detail::check_f32(logits, "cross_entropy", "logits");
  if (logits.dim() != 2)
    throw std::invalid_argument("cross_entropy: logits must be [rows, classes], got " + shape_str(logits.shape()) +
                                " (flatten leading dims first)");
  if (!targets_in.defined() || targets_in.dtype() != DType::i32)
    throw std::invalid_argument("cross_entropy: targets must be an i32 tensor of class indices");
  const int64_t m = logits.size(0);
  if (targets_in.dim() != 1 || targets_in.size(0) != m)
    throw std::invalid_argument(fmt::format("cross_entropy: targets has shape {}, expected [{}] to match logits {}",
                                            shape_str(targets_in.shape()), m, shape_str(logits.shape())));
  if (!(label_smoothing >= 0.f && label_smoothing <= 1.f))
    throw std::invalid_argument(
        fmt::format("cross_entropy: label_smoothing must be in [0, 1], got {}", label_smoothing));
}

// The number of rows that count towards the mean; throws on a target that is not a class.
int64_t count_targets(const int32_t* t, int64_t m, int64_t c, int32_t ignore_index) {
  int64_t count = 0;
  for (int64_t i = 0; i < m; ++i) {
    if (t[i] == ignore_index) continue;
    if (t[i] < 0 || t[i] >= c)
      throw std::invalid_argument(
          fmt::format("cross_entropy: target {} in row {} is not a class in [0, {}) nor the "
                      "ignore_index {}",
                      t[i], i, c, ignore_index));
    ++count;
  }
  return count;
}

// Fills lse (log-sum-exp per row, kept for backward) and the per-row losses.
void forward_rows(const float* x, const int32_t* t, int64_t m, int64_t c, int32_t ignore_index, float eps, float* plse,
                  float* pl) {
  const float inv_c = 1.f / static_cast<float>(std::max<int64_t>(c, 1));
  const vec::Kernels& k = vec::kernels();
#pragma omp parallel for if (m * c > kParallelMin)
  for (int64_t i = 0; i < m; ++i) {
    const float* xr = x + i * c;
    const float mx = k.max(xr, c);
    const float l = mx + std::log(k.exp_sum(xr, mx, nullptr, c));
    plse[i] = l;
    if (t[i] == ignore_index) {
      pl[i] = 0.f;
    } else {
      // -logp[t] = l - x[t];  mean_j(-logp[j]) = l - mean(x)
      const float nll = l - xr[t[i]];
      pl[i] = eps == 0.f ? nll : (1.f - eps) * nll + eps * (l - k.sum(xr, c) * inv_c);
    }
  }
}

float mean_loss(const float* pl, int64_t m, int64_t count) {
  double total = 0.0;
  for (int64_t i = 0; i < m; ++i) total += pl[i];
  return count == 0 ? 0.f : static_cast<float>(total / static_cast<double>(count));
}

Tensor logits_grad(const Tensor& kx, const Tensor& targets, const Tensor& lse, int32_t ignore_index, float eps,
                   int64_t count, int64_t m, int64_t c, const Tensor& g) {
  const float scale = count == 0 ? 0.f : g.item() / static_cast<float>(count);
  const float* px = kx.data<float>();
  const int32_t* pt = targets.data<int32_t>();
  const float* pls = lse.data<float>();
  Tensor dx = Tensor::empty({m, c});
  float* d = dx.data<float>();
  const float off = eps / static_cast<float>(c);
  const float hit = 1.f - eps;
  const vec::Kernels& k = vec::kernels();
#pragma omp parallel for if (m * c > kParallelMin)
  for (int64_t i = 0; i < m; ++i) {
    float* dr = d + i * c;
    if (pt[i] == ignore_index) {
      std::fill_n(dr, c, 0.f);
      continue;
    }
    const float* xr = px + i * c;
    const float l = pls[i];
    k.exp_sum(xr, l, dr, c);
    for (int64_t j = 0; j < c; ++j) dr[j] = (dr[j] - off) * scale;
    dr[pt[i]] -= hit * scale;
  }
  return dx;
}

}  // namespace

Tensor cross_entropy(const Tensor& logits, const Tensor& targets_in, int32_t ignore_index, float label_smoothing) {
  check_args(logits, targets_in, label_smoothing);
  const int64_t m = logits.size(0), c = logits.size(1);
  Tensor targets = targets_in.detach().contiguous();
  const int32_t* t = targets.data<int32_t>();
  const int64_t count = count_targets(t, m, c, ignore_index);

  Tensor xs;
  const float* x = datamux::detail::contiguous_data(logits, xs);
  Tensor lse = Tensor::empty({m});
  Tensor row_loss = Tensor::empty({m});
  const float eps = label_smoothing;
  forward_rows(x, t, m, c, ignore_index, eps, lse.data<float>(), row_loss.data<float>());
  Tensor out = Tensor::scalar(mean_loss(row_loss.data<float>(), m, count));

  if (grad_enabled() && logits.requires_grad()) {
    Tensor kx = xs.defined() ? xs : logits.detach();
    record(
        out, {logits},
        [logits, kx, targets, lse, ignore_index, eps, count, m, c](const Tensor& g) {
          accumulate_grad(logits, logits_grad(kx, targets, lse, ignore_index, eps, count, m, c, g));
        },
        "cross_entropy");
  }
  return out;
}

}  // namespace datamux::ops
