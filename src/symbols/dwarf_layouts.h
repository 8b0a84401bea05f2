// TypeLayouts read from the DWARF of one ELF file with libdwarf.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"
#include "core/type_layouts.h"

namespace pyattach::symbols {

// Reads the struct, union and typedef definitions named in `wanted` (tag or
// typedef names, e.g. "_ts", "PyThreadState", "_PyInterpreterFrame") and every
// struct/union type reachable through their members, so that dotted member
// paths work. Types are looked up per compile unit and the walk stops when all
// wanted types were found. Fails with kDebugInfo if the file has no
// .debug_info, or none of the wanted types is defined.
class DwarfLayouts final : public TypeLayouts {
 public:
  static Result<DwarfLayouts> load(const std::string& path,
                                   const std::vector<std::string>& wanted);

  std::optional<std::uint64_t> offset_of(std::string_view type,
                                         std::string_view member_path) const override;
  std::optional<std::uint64_t> size_of(std::string_view type) const override;

  struct Member {
    std::string name;  // empty for an anonymous struct/union member
    std::uint64_t offset = 0;
    std::string type_key;  // key into types_ of the member's struct/union type
                           // after typedefs; empty if not a struct/union
  };
  struct Type {
    std::uint64_t size = 0;
    std::vector<Member> members;
  };

 private:
  // Keyed by struct/union tag and by typedef name (both map to the same Type).
  std::map<std::string, Type, std::less<>> types_;
};

}  // namespace pyattach::symbols
