// Struct layouts of the target's C types (from DWARF, or from a table).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace pyattach {

class TypeLayouts {
 public:
  virtual ~TypeLayouts() = default;
  // Byte offset of a member, following a dotted path through nested structs
  // and unions: offset_of("_PyRuntimeState", "interpreters.head").
  // `type` is a struct tag or typedef name ("PyThreadState" and "_ts" both work).
  virtual std::optional<std::uint64_t> offset_of(
      std::string_view type, std::string_view member_path) const = 0;
  // sizeof(type), or nullopt if the type is unknown.
  virtual std::optional<std::uint64_t> size_of(std::string_view type) const = 0;
};

}  // namespace pyattach
