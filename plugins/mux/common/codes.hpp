// codes.hpp - generators for the built-in multiplexers' instance codes (row-major float vectors).
//
//   gaussian_codes      N rows c * g_i / ||g_i||, g_i ~ N(0, I_d)             (gaussian)
//   binary_chunk_codes  N rows of 0/1 marking instance i's slice of the dims     (binary_hadamard)
//   hadamard_codes      N rows of a Sylvester-Hadamard matrix, scaled to norm c (hadamard)
//   haar_orthogonal     one Haar-random orthogonal d x d matrix                  (random_ortho)
//   low_rank_ortho      N matrices U_i H_i^T from column blocks of two SO(d) ones (random_ortho_low_rank)
//
// Computed in double and rounded once, so that exact properties (unit norm, orthogonality) hold to
// float precision. Header-only: each plugin library compiles its own copy.
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <datamux/tensor.hpp>
#include <vector>

namespace datamux::plugin_util {

/// [n, d]: row i = norm * g_i / ||g_i|| with g_i ~ N(0, I_d) drawn from rng.
inline std::vector<float> gaussian_codes(int64_t n, int64_t d, double norm, Rng& rng) {
  std::vector<float> out(static_cast<std::size_t>(n * d));
  std::vector<double> g(static_cast<std::size_t>(d));
  for (int64_t i = 0; i < n; ++i) {
    double sq = 0.0;
    for (int64_t k = 0; k < d; ++k) {
      g[k] = rng.normal();
      sq += g[k] * g[k];
    }
    const double scale = sq > 0.0 ? norm / std::sqrt(sq) : 0.0;
    for (int64_t k = 0; k < d; ++k) out[i * d + k] = static_cast<float>(g[k] * scale);
  }
  return out;
}

/// [n, d] of 0/1: instance i owns dims [i*chunk, (i+1)*chunk) with chunk = floor(d / n) (the last
/// instance runs to d), widened by floor(overlap * chunk / 2) dims on each inner side, as the
/// DataMUX reference `binary_encoding` does.
inline std::vector<float> binary_chunk_codes(int64_t n, int64_t d, double overlap) {
  std::vector<float> out(static_cast<std::size_t>(n * d), 0.f);
  const int64_t chunk = d / n;
  const auto widen = static_cast<int64_t>(std::floor(overlap * static_cast<double>(chunk) / 2.0));
  for (int64_t i = 0; i < n; ++i) {
    int64_t start = i * chunk, end = i + 1 == n ? d : (i + 1) * chunk;
    if (i > 0) start = std::max<int64_t>(0, start - widen);
    if (i + 1 < n) end = std::min(d, end + widen);
    for (int64_t k = start; k < end; ++k) out[i * d + k] = 1.f;
  }
  return out;
}

/// Smallest power of two >= d: the order of the Sylvester-Hadamard matrix whose rows are truncated to d.
inline int64_t hadamard_order(int64_t d) { return static_cast<int64_t>(std::bit_ceil(static_cast<uint64_t>(d))); }

/// [n, d]: rows first_row .. first_row+n-1 of the Sylvester-Hadamard matrix H (H[r][c] =
/// (-1)^popcount(r & c)), truncated to d columns and scaled by norm / sqrt(d), so each has L2 norm
/// `norm`. Rows are exactly orthogonal when d is a power of two.
inline std::vector<float> hadamard_codes(int64_t n, int64_t d, int64_t first_row, double norm) {
  std::vector<float> out(static_cast<std::size_t>(n * d));
  const auto scale = static_cast<float>(norm / std::sqrt(static_cast<double>(d)));
  for (int64_t i = 0; i < n; ++i) {
    const auto r = static_cast<uint64_t>(first_row + i);
    for (int64_t c = 0; c < d; ++c) out[i * d + c] = (std::popcount(r & static_cast<uint64_t>(c)) & 1) ? -scale : scale;
  }
  return out;
}

/// Draws the d x d Gaussian matrix a Haar-random orthogonal matrix is made from (row-major).
inline std::vector<double> gaussian_matrix(int64_t d, Rng& rng) {
  std::vector<double> g(static_cast<std::size_t>(d * d));
  for (double& v : g) v = rng.normal();
  return g;
}

/// Q of the QR factorisation G = QR with diag(R) > 0, which makes Q Haar-distributed when G is
/// Gaussian (Mezzadri 2007). Gram-Schmidt on the columns of G with re-orthogonalisation ("twice is
/// enough") in double. Returns Q row-major as float.
inline std::vector<float> orthogonalize(const std::vector<double>& g, int64_t d) {
  // Column j of G, contiguous, so that the dot products and updates vectorise.
  std::vector<double> q(static_cast<std::size_t>(d * d));
  for (int64_t r = 0; r < d; ++r)
    for (int64_t c = 0; c < d; ++c) q[c * d + r] = g[r * d + c];
  for (int64_t j = 0; j < d; ++j) {
    double* a = &q[j * d];
    for (int pass = 0; pass < 2; ++pass) {
      for (int64_t k = 0; k < j; ++k) {
        const double* b = &q[k * d];
        double dot = 0.0;
        for (int64_t r = 0; r < d; ++r) dot += a[r] * b[r];
        for (int64_t r = 0; r < d; ++r) a[r] -= dot * b[r];
      }
    }
    double sq = 0.0;
    for (int64_t r = 0; r < d; ++r) sq += a[r] * a[r];
    const double inv = 1.0 / std::sqrt(sq);  // R_jj > 0: the sign convention that makes Q Haar
    for (int64_t r = 0; r < d; ++r) a[r] *= inv;
  }
  std::vector<float> out(static_cast<std::size_t>(d * d));
  for (int64_t r = 0; r < d; ++r)
    for (int64_t c = 0; c < d; ++c) out[r * d + c] = static_cast<float>(q[c * d + r]);
  return out;
}

/// [n, d, d]: n independent Haar-random orthogonal matrices. The random draws are sequential (the
/// result depends only on rng), the factorisations run in parallel.
inline std::vector<float> haar_orthogonal(int64_t n, int64_t d, Rng& rng) {
  std::vector<std::vector<double>> gs;
  gs.reserve(static_cast<std::size_t>(n));
  for (int64_t i = 0; i < n; ++i) gs.push_back(gaussian_matrix(d, rng));
  std::vector<float> out(static_cast<std::size_t>(n * d * d));
#pragma omp parallel for schedule(dynamic) if (n > 1 && d >= 64)
  for (int64_t i = 0; i < n; ++i) {
    const std::vector<float> q = orthogonalize(gs[static_cast<std::size_t>(i)], d);
    std::copy(q.begin(), q.end(), out.begin() + i * d * d);
  }
  return out;
}

/// Sign of det(m) for a row-major d x d matrix (Gaussian elimination with partial pivoting, in double).
inline int determinant_sign(std::vector<double> m, int64_t d) {
  int sign = 1;
  for (int64_t c = 0; c < d; ++c) {
    int64_t pivot = c;
    for (int64_t r = c + 1; r < d; ++r)
      if (std::fabs(m[r * d + c]) > std::fabs(m[pivot * d + c])) pivot = r;
    if (m[pivot * d + c] == 0.0) return 0;
    if (pivot != c) {
      for (int64_t k = 0; k < d; ++k) std::swap(m[c * d + k], m[pivot * d + k]);
      sign = -sign;
    }
    if (m[c * d + c] < 0.0) sign = -sign;
    for (int64_t r = c + 1; r < d; ++r) {
      const double f = m[r * d + c] / m[c * d + c];
      for (int64_t k = c; k < d; ++k) m[r * d + k] -= f * m[c * d + k];
    }
  }
  return sign;
}

/// A Haar-random rotation (special orthogonal, det +1, as scipy's special_ortho_group): a Haar
/// orthogonal Q with its last column negated when det Q = -1, which maps Haar on O(d) to Haar on SO(d).
/// det Q has the sign of det G, because G = QR with diag(R) > 0.
inline std::vector<float> haar_special_orthogonal(int64_t d, Rng& rng) {
  const std::vector<double> g = gaussian_matrix(d, rng);
  std::vector<float> q = orthogonalize(g, d);
  if (determinant_sign(g, d) < 0)
    for (int64_t r = 0; r < d; ++r) q[r * d + d - 1] = -q[r * d + d - 1];
  return q;
}

/// [n, d, d]: matrix i = U[:, l:r] H[:, l:r]^T with U, H Haar-random rotations and [l, r) instance i's
/// block of floor(d / n) columns (the last d mod n columns are used by no instance), exactly the
/// MUX-PLMs reference's `random_ortho_low_rank` G_i = U (H masked to the block)^T.
inline std::vector<float> low_rank_ortho(int64_t n, int64_t d, Rng& rng) {
  const std::vector<float> h = haar_special_orthogonal(d, rng);
  const std::vector<float> u = haar_special_orthogonal(d, rng);
  const int64_t block = d / n;
  std::vector<float> out(static_cast<std::size_t>(n * d * d), 0.f);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t a = 0; a < d; ++a)
      for (int64_t b = 0; b < d; ++b) {
        double s = 0.0;
        for (int64_t k = i * block; k < (i + 1) * block; ++k) s += static_cast<double>(u[a * d + k]) * h[b * d + k];
        out[(i * d + a) * d + b] = static_cast<float>(s);
      }
  return out;
}

}  // namespace datamux::plugin_util
