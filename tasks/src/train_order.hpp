// Private to the runtime: a task's training epoch order as resume state, shared by the data-set tasks.
// Text form: "<cursor> <order size> <order...>", then whatever engines the task appends.
#pragma once

#include <datamux/error.hpp>
#include <fmt/format.h>

#include <cstdint>
#include <istream>
#include <ostream>
#include <string>
#include <vector>

namespace datamux::runtime::detail {

inline void write_train_order(std::ostream& out, std::size_t cursor, const std::vector<int64_t>& order) {
  out << cursor << ' ' << order.size();
  for (int64_t i : order) out << ' ' << i;
}

/// Reads what write_train_order wrote into `cursor` and `order`, refusing an order for another number of
/// training examples than `expected` (the data changed since the run started).
inline void read_train_order(std::istream& in, std::size_t expected, const std::string& kind, std::size_t& cursor,
                             std::vector<int64_t>& order) {
  std::size_t size = 0;
  in >> cursor >> size;
  if (!in || size != expected || cursor > size)
    throw InputError(fmt::format("resume state: the {} task's training order does not fit this data ({} examples "
                                 "saved, {} now): resume with the data the run started with",
                                 kind, size, expected));
  order.assign(size, 0);
  for (auto& i : order) in >> i;
}

}  // namespace datamux::runtime::detail
