#include "cpython/version.h"

#include <charconv>

#include <fmt/format.h>

namespace pyattach::cpython {

PythonVersion PythonVersion::from_hex(std::uint32_t hex) {
  PythonVersion v;
  v.major = static_cast<int>((hex >> 24) & 0xff);
  v.minor = static_cast<int>((hex >> 16) & 0xff);
  v.micro = static_cast<int>((hex >> 8) & 0xff);
  static constexpr char kLevels[] = {'?', '?', '?', '?', '?', '?', '?', '?', '?', '?',
                                     'a', 'b', 'c', '?', '?', 'f'};
  v.release_level = kLevels[(hex >> 4) & 0xf];
  v.serial = static_cast<int>(hex & 0xf);
  return v;
}

std::optional<PythonVersion> PythonVersion::parse(std::string_view text) {
  PythonVersion v;
  const char* p = text.data();
  const char* end = p + text.size();
  auto number = [&](int& out) {
    auto [next, ec] = std::from_chars(p, end, out);
    if (ec != std::errc()) return false;
    p = next;
    return true;
  };
  auto dot = [&] {
    if (p == end || *p != '.') return false;
    ++p;
    return true;
  };
  if (!number(v.major) || !dot() || !number(v.minor)) return std::nullopt;
  if (dot() && !number(v.micro)) return std::nullopt;
  if (p != end && (*p == 'a' || *p == 'b')) {
    v.release_level = *p++;
    number(v.serial);
  } else if (end - p >= 2 && p[0] == 'r' && p[1] == 'c') {
    v.release_level = 'c';
    p += 2;
    number(v.serial);
  }
  return v;
}

std::string PythonVersion::to_string() const {
  std::string s = fmt::format("{}.{}.{}", major, minor, micro);
  switch (release_level) {
    case 'a': s += fmt::format("a{}", serial); break;
    case 'b': s += fmt::format("b{}", serial); break;
    case 'c': s += fmt::format("rc{}", serial); break;
    default: break;
  }
  return s;
}

bool is_supported(const PythonVersion& v) {
  return v.major == 3 && v.minor >= 8 && v.minor <= 13;
}

}  // namespace pyattach::cpython
