// One multiplexed row through a served model.
#include <datamux/serve/inference.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>

namespace datamux::serve {

std::vector<const EncodedInput*> fill_row(const std::vector<const EncodedInput*>& real, int64_t n) {
  if (real.empty() || static_cast<int64_t>(real.size()) > n)
    throw std::invalid_argument(fmt::format("fill_row: {} inputs for a row of N = {}", real.size(), n));
  std::vector<const EncodedInput*> row(real);
  for (int64_t j = static_cast<int64_t>(real.size()); j < n; ++j) row.push_back(real[static_cast<std::size_t>(j) % real.size()]);
  return row;
}

std::vector<std::vector<float>> run_row(ServedModel& served, const std::vector<const EncodedInput*>& row, bool token_level,
                                        int64_t classes) {
  const int64_t n = served.instances;
  if (static_cast<int64_t>(row.size()) != n)
    throw std::invalid_argument(fmt::format("run_row: {} inputs for N = {}", row.size(), n));
  const bool image = !row.front()->pixels.empty();
  const int64_t L = static_cast<int64_t>(image ? row.front()->pixels.size() : row.front()->ids.size());
  runtime::Batch batch;
  // As the tasks gather a batch: token ids i32 [N, B, L], or an image's pixels f32 [N, B, values].
  batch.inputs = Tensor::empty({n, 1, L}, image ? DType::f32 : DType::i32);
  for (int64_t i = 0; i < n; ++i) {
    const EncodedInput& in = *row[static_cast<std::size_t>(i)];
    if (image)
      std::memcpy(batch.inputs.data<float>() + i * L, in.pixels.data(), static_cast<std::size_t>(L) * 4);
    else
      std::memcpy(batch.inputs.data<int32_t>() + i * L, in.ids.data(), static_cast<std::size_t>(L) * 4);
  }
  batch.targets = Tensor::empty(token_level ? Shape{n, 1, L} : Shape{n, 1}, DType::i32);
  std::fill_n(batch.targets.data<int32_t>(), batch.targets.numel(), runtime::kIgnore);
  batch.examples = n;

  NoGradGuard no_grad;
  set_matmul_precision(served.precision);  // process-wide; only the dispatcher thread runs models
  const Tensor logits = served.model->forward(batch).main.logits.to(DType::f32).contiguous();
  const int64_t per_slot = token_level ? L * classes : classes;
  if (logits.numel() != n * per_slot)
    throw std::runtime_error(fmt::format("model N = {}: logits of {} values, expected {}", n, logits.numel(), n * per_slot));
  const float* p = logits.data<float>();
  std::vector<std::vector<float>> out(static_cast<std::size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    std::vector<float>& probs = out[static_cast<std::size_t>(i)];
    probs.assign(p + i * per_slot, p + (i + 1) * per_slot);
    for (int64_t at = 0; at < per_slot; at += classes) {  // softmax over each position's classes
      float* z = probs.data() + at;
      const float m = *std::max_element(z, z + classes);
      float sum = 0.f;
      for (int64_t c = 0; c < classes; ++c) sum += (z[c] = std::exp(z[c] - m));
      for (int64_t c = 0; c < classes; ++c) z[c] /= sum;
    }
  }
  return out;
}

}  // namespace datamux::serve
