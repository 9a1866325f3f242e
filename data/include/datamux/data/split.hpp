// datamux/data/split.hpp - deterministic train / validation / test splits.
//
// The indices 0..n-1 are shuffled with a datamux::Rng seeded by `seed` (Fisher-Yates on the
// mt19937_64 stream, whose output the C++ standard fixes, so a seed gives the same split on every
// machine), then cut: the first round(n*test_fraction) go to test, the next round(n*validation_fraction)
// to validation, the rest to train. Each part is returned sorted.
//
//   Split s = split_indices(mail.size(), 0.1, 0.1, 42);
//   TextDataset train = mail.subset(s.train);
#pragma once

#include <cstdint>
#include <vector>

namespace datamux::data {

struct Split {
  std::vector<int64_t> train;
  std::vector<int64_t> validation;
  std::vector<int64_t> test;
};

/// Throws InputError when a fraction is outside [0, 1) or not finite, or when the training part
/// would be empty for n > 0.
Split split_indices(int64_t n, double validation_fraction, double test_fraction, uint64_t seed);

}  // namespace datamux::data
