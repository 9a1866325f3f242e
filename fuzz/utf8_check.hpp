// fuzz/utf8_check.hpp - traps unless a string is valid UTF-8 (what the readers promise for what they
// return, since it ends up in JSON metadata).
#pragma once

#include <datamux/data/utf8.hpp>

#include <string_view>

namespace datamux::fuzz {

inline void require_utf8(std::string_view s) {
  if (datamux::data::first_invalid_utf8(s) != std::string_view::npos) __builtin_trap();
}

}  // namespace datamux::fuzz
