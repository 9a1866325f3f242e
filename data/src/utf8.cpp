// UTF-8 validation (RFC 3629, as the Unicode standard's table 3-7 of well-formed byte sequences) and
// repair with U+FFFD per maximal invalid subpart.
#include <datamux/data/utf8.hpp>

namespace datamux::data {

namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";

// Length of the valid sequence at s[i], or 0 when none starts there. `*subpart` gets the length of the
// maximal invalid subpart (at least 1) to replace when it is invalid.
std::size_t valid_length(std::string_view s, std::size_t i, std::size_t* subpart) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char b0 = byte(i);
  *subpart = 1;
  if (b0 < 0x80) return 1;
  std::size_t need = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // the range of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    need = 1;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    need = 2;
    if (b0 == 0xE0) lo = 0xA0;  // no overlong forms
    if (b0 == 0xED) hi = 0x9F;  // no surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    need = 3;
    if (b0 == 0xF0) lo = 0x90;  // no overlong forms
    if (b0 == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
  } else {
    return 0;  // 80..C1 and F5..FF never start a sequence
  }
  for (std::size_t k = 1; k <= need; ++k) {
    if (i + k >= s.size()) return 0;
    const unsigned char b = byte(i + k);
    const bool ok = k == 1 ? (b >= lo && b <= hi) : (b >= 0x80 && b <= 0xBF);
    if (!ok) return 0;
    *subpart = k + 1;  // the bytes so far form a valid prefix: they are replaced together
  }
  return need + 1;
}

}  // namespace

std::size_t first_invalid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {  // ASCII fast path
      ++i;
      continue;
    }
    std::size_t subpart = 0;
    const std::size_t n = valid_length(s, i, &subpart);
    if (n == 0) return i;
    i += n;
  }
  return std::string_view::npos;
}

std::string repair_utf8(std::string_view s) {
  std::string out(s);
  repair_utf8_in_place(out);
  return out;
}

std::size_t repair_utf8_in_place(std::string& s) {
  std::size_t first = first_invalid_utf8(s);
  if (first == std::string_view::npos) return 0;
  std::string out = s.substr(0, first);
  std::size_t replaced = 0;
  std::size_t i = first;
  while (i < s.size()) {
    std::size_t subpart = 0;
    const std::size_t n = valid_length(s, i, &subpart);
    if (n > 0) {
      out.append(s, i, n);
      i += n;
    } else {
      out += kReplacement;
      ++replaced;
      i += subpart;
    }
  }
  s = std::move(out);
  return replaced;
}

}  // namespace datamux::data
