#include "render/escape.h"

#include <fmt/format.h>

namespace pyattach::render {
namespace {

// Length of the valid UTF-8 sequence at s[i], or 0 if it is not valid.
std::size_t utf8_sequence_length(std::string_view s, std::size_t i) {
  auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = byte(i);
  std::size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3
                                 : (c >> 3) == 0x1e ? 4 : 0;
  if (len == 0 || i + len > s.size()) return 0;
  for (std::size_t k = 1; k < len; ++k)
    if ((byte(i + k) & 0xc0) != 0x80) return 0;
  if (len == 2 && c < 0xc2) return 0;  // overlong
  if (len == 3) {
    unsigned cp = ((c & 0x0fu) << 12) | ((byte(i + 1) & 0x3fu) << 6) | (byte(i + 2) & 0x3fu);
    if (cp < 0x800) return 0;
    // U+0080..U+009F (C1 controls) cannot be 3 bytes; surrogates are kept as
    // Python keeps them only through escapes, so reject them here.
    if (cp >= 0xd800 && cp <= 0xdfff) return 0;
  }
  if (len == 4) {
    unsigned cp = ((c & 0x07u) << 18) | ((byte(i + 1) & 0x3fu) << 12) |
                  ((byte(i + 2) & 0x3fu) << 6) | (byte(i + 3) & 0x3fu);
    if (cp < 0x10000 || cp > 0x10ffff) return 0;
  }
  return len;
}

unsigned code_point3(std::string_view s, std::size_t i) {
  auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]) & 0x3fu; };
  return ((static_cast<unsigned char>(s[i]) & 0x0fu) << 12) | (byte(i + 1) << 6) | byte(i + 2);
}

// U+202A..U+202E and U+2066..U+2069 reorder what follows them on screen, so a
// name could make the rest of the line read differently (CVE-2021-42574).
bool is_bidi_control(std::string_view s, std::size_t i) {
  unsigned cp = code_point3(s, i);
  return (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

}  // namespace

std::string escape_for_terminal(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    std::size_t len = utf8_sequence_length(text, i);
    if (len == 1 && c >= 0x20 && c != 0x7f) {
      out.push_back(static_cast<char>(c));
    } else if (len == 1) {
      switch (c) {
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default: out += fmt::format("\\x{:02x}", c);
      }
    } else if (len == 2 && c == 0xc2 &&
               static_cast<unsigned char>(text[i + 1]) < 0xa0) {
      // U+0080..U+009F: C1 controls, which some terminals obey (CSI = U+009B).
      out += fmt::format("\\x{:02x}", static_cast<unsigned char>(text[i + 1]));
    } else if (len == 3 && is_bidi_control(text, i)) {
      out += fmt::format("\\u{:04x}", code_point3(text, i));
    } else if (len > 1) {
      out.append(text.substr(i, len));
    } else {
      out += fmt::format("\\x{:02x}", c);
      len = 1;
    }
    i += len;
  }
  return out;
}

}  // namespace pyattach::render
