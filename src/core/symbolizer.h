// Name <-> address lookups in the target's loaded modules, as an interface so
// that cpython and render do not depend on how symbols are found.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/remote_ptr.h"

namespace pyattach {

struct SymbolInfo {
  std::string name;         // demangled where possible; empty if unknown
  RemoteAddr start;         // runtime address of the symbol's first byte
  std::uint64_t size = 0;   // 0 if the symbol table gave none
  std::string module_path;  // the mapped file as the target names it
};

class Symbolizer {
 public:
  virtual ~Symbolizer() = default;
  // The function containing a runtime address; nullopt if no symbol covers it
  // (module_path is still useful then: see module_of).
  virtual std::optional<SymbolInfo> symbolize(RemoteAddr addr) const = 0;
  // The mapped file containing addr, or empty.
  virtual std::string module_of(RemoteAddr addr) const = 0;
  // The runtime address of a symbol, searched in module_hint first (a path
  // substring, e.g. "libpython"), then in every module.
  virtual std::optional<RemoteAddr> address_of(
      std::string_view name, std::string_view module_hint = {}) const = 0;
};

}  // namespace pyattach
