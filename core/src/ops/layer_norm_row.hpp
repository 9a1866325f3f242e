// layer_norm_row.hpp - one row of the layer-norm forward (layer_norm.cpp), shared with the fused
// embedding + positions + layer norm of inference (embedding_layer_norm.cpp), so that both give the
// same floats to the bit.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "vec_math.hpp"

namespace datamux::ops {

// y = (x - mean) * rstd * w + b over one row of d; mean and variance in one pass shifted by the row's
// first element (a large mean does not cancel the variance). w and b may be null.
inline void layer_norm_row(const float* xr, const float* w, const float* b, float* yr, int64_t d, float eps,
                           float* mean, float* rstd) {
  const float inv_d = 1.f / static_cast<float>(d);
  const float shift = xr[0];
  float s, ss;
  datamux::detail::vec::kernels().moments(xr, shift, d, &s, &ss);
  const float md = s * inv_d;
  const float var = std::max(ss * inv_d - md * md, 0.f);
  const float m = shift + md;
  const float rs = 1.f / std::sqrt(var + eps);
  *mean = m;
  *rstd = rs;
  if (w && b) {
    for (int64_t i = 0; i < d; ++i) yr[i] = (xr[i] - m) * rs * w[i] + b[i];
  } else if (w) {
    for (int64_t i = 0; i < d; ++i) yr[i] = (xr[i] - m) * rs * w[i];
  } else if (b) {
    for (int64_t i = 0; i < d; ++i) yr[i] = (xr[i] - m) * rs + b[i];
  } else {
    for (int64_t i = 0; i < d; ++i) yr[i] = (xr[i] - m) * rs;
  }
}

}  // namespace datamux::ops
