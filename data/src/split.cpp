// Deterministic train / validation / test index splits from a seed.
#include <datamux/data/split.hpp>

#include <datamux/error.hpp>
#include <datamux/tensor.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

namespace datamux::data {

namespace {

// Uniform in [0, bound) from the raw 64-bit stream by rejection (no modulo bias, and no
// std::uniform_int_distribution, whose algorithm differs between standard libraries).
uint64_t below(Rng& rng, uint64_t bound) {
  const uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
  uint64_t x;
  do {
    x = rng.next();
  } while (x >= limit);
  return x % bound;
}

void check_fraction(double f, const char* name) {
  if (!std::isfinite(f) || f < 0.0 || f >= 1.0) {
    throw InputError(std::string("split: ") + name + " must be in [0, 1), got " + std::to_string(f));
  }
}

}  // namespace

Split split_indices(int64_t n, double validation_fraction, double test_fraction, uint64_t seed) {
  if (n < 0) throw InputError("split: negative number of examples " + std::to_string(n));
  check_fraction(validation_fraction, "validation_fraction");
  check_fraction(test_fraction, "test_fraction");
  const auto n_test = static_cast<int64_t>(std::llround(static_cast<double>(n) * test_fraction));
  const auto n_val = static_cast<int64_t>(std::llround(static_cast<double>(n) * validation_fraction));
  if (n > 0 && n_test + n_val >= n) {
    throw InputError("split: validation (" + std::to_string(n_val) + ") and test (" + std::to_string(n_test) +
                     ") take all " + std::to_string(n) + " examples, leaving none to train on");
  }
  std::vector<int64_t> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), int64_t{0});
  Rng rng(seed);
  for (int64_t i = n - 1; i > 0; --i) {
    std::swap(order[i], order[below(rng, static_cast<uint64_t>(i) + 1)]);
  }
  Split out;
  out.test.assign(order.begin(), order.begin() + n_test);
  out.validation.assign(order.begin() + n_test, order.begin() + n_test + n_val);
  out.train.assign(order.begin() + n_test + n_val, order.end());
  std::sort(out.test.begin(), out.test.end());
  std::sort(out.validation.begin(), out.validation.end());
  std::sort(out.train.begin(), out.train.end());
  return out;
}

}  // namespace datamux::data
