// The CPython version of a target, and which versions we model.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pyattach::cpython {

struct PythonVersion {
  int major = 0, minor = 0, micro = 0;
  char release_level = 'f';  // 'a', 'b', 'c' (rc) or 'f' (final)
  int serial = 0;

  // From the PY_VERSION_HEX layout of Py_Version (3.11+): 0x030C01F0 = 3.12.1.
  static PythonVersion from_hex(std::uint32_t hex);
  // From the text of PY_VERSION: "3.10.13", "3.13.0rc2", "3.12.0a7+".
  static std::optional<PythonVersion> parse(std::string_view text);

  bool at_least(int maj, int min) const {
    return major > maj || (major == maj && minor >= min);
  }
  bool is(int maj, int min) const { return major == maj && minor == min; }
  std::string to_string() const;  // "3.12.1", "3.13.0rc2"
};

// 3.8 <= version <= 3.13.
bool is_supported(const PythonVersion& v);

}  // namespace pyattach::cpython
