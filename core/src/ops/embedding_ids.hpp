// embedding_ids.hpp - the id check of the embedding lookups (embedding.cpp, embedding_layer_norm.cpp):
// one message for an id outside the vocabulary, wherever it is looked up.
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <stdexcept>

namespace datamux::ops::detail {

inline void check_ids_in_range(const int32_t* ids, int64_t n, int64_t vocab) {
  for (int64_t i = 0; i < n; ++i)
    if (ids[i] < 0 || ids[i] >= vocab)
      throw std::invalid_argument(fmt::format("embedding: id {} at flat position {} is out of range for a vocabulary "
                                              "of {} (ids must be in [0, {}))",
                                              ids[i], i, vocab, vocab));
}

}  // namespace datamux::ops::detail
