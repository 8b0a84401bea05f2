// TypeLayouts read from the DWARF of one ELF file with libdwarf.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>
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
//
// Details callers rely on:
// - A wanted name resolves only if it is (a typedef of) a struct or union;
//   "Py_ssize_t" never does. A name that occurs nowhere in the DWARF strings
//   is dropped before the walk; any other unresolved name (a typedef of int,
//   or "CFrame" on 3.11, a suffix of "_PyCFrame") costs a walk of every unit.
// - The first complete definition found wins.
// - Both names of a typedef'd struct work once either was wanted, and so do
//   the tag and typedef names of every struct/union reached through members.
// - Only complete definitions count: a CU holding just a declaration of
//   `struct _is` is skipped until one that defines it.
// - Members of an anonymous struct/union member are found by their own name,
//   as in C: with `struct T { int a; union { long b; char c; }; }`,
//   offset_of("T", "b") works at any depth of such nesting.
// - Pointers and arrays are not followed: "a.b" needs `a` to be a struct or
//   union held by value.
// - A bitfield's offset_of is the byte holding its first bit; bit_field_of
//   gives the exact bits.
// - Loads are serialized process-wide (libdwarf keeps global state). The file
//   is mapped read-only while loading, so only the units walked are paged in;
//   object files and compressed sections go through libdwarf's own reader.
// - The result holds no libdwarf state and no file: copy or move it freely.
class DwarfLayouts final : public TypeLayouts {
 public:
  // `unit_hints` maps a wanted type to the end of the name of the compile
  // unit that defines it ("lockobject" -> "Modules/_threadmodule.c"): once
  // only hinted types remain, other units are skipped, and if a hint turns
  // out wrong every unit is walked after all. Types private to one source
  // file otherwise cost a walk of every unit before theirs.
  static Result<DwarfLayouts> load(
      const std::string& path, const std::vector<std::string>& wanted,
      const std::vector<std::pair<std::string, std::string>>& unit_hints = {});

  std::optional<std::uint64_t> offset_of(std::string_view type,
                                         std::string_view member_path) const override;
  std::optional<std::uint64_t> size_of(std::string_view type) const override;

  // Where a member's bits lie, counted from the start of `type` in
  // little-endian bit order (bit 0 is the low bit of byte 0). bit_size is 0
  // for a member that is not a bitfield. nullopt if the path does not resolve.
  struct BitField {
    std::uint64_t bit_offset = 0;
    std::uint64_t bit_size = 0;
  };
  std::optional<BitField> bit_field_of(std::string_view type,
                                       std::string_view member_path) const;

  struct Member {
    std::string name;  // empty for an anonymous struct/union member
    std::uint64_t offset = 0;
    std::string type_key;  // key into types_ of the member's struct/union type
                           // after typedefs; empty if not a struct/union
    std::uint64_t bit_offset = 0;  // from the start of the struct, in bits
    std::uint64_t bit_size = 0;    // 0 unless a bitfield
  };
  struct Type {
    std::uint64_t size = 0;
    std::vector<Member> members;
  };

 private:
  // Keyed by struct/union tag and by typedef name (both map to the same Type);
  // types reached only through members are keyed "@0x<DIE offset>".
  std::map<std::string, Type, std::less<>> types_;

  // The member at a dotted path and its offset from the start of `type`.
  std::optional<std::pair<const Member*, std::uint64_t>> find_path(
      std::string_view type, std::string_view member_path) const;
  const Member* find_member(const Type& t, std::string_view name, std::uint64_t& offset,
                            int depth) const;
};

}  // namespace pyattach::symbols
