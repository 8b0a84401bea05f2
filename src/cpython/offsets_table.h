// Offsets of released CPython builds, generated from their DWARF by
// scripts/gen_offsets_table.py (src/cpython/offsets_table.inc), for targets
// whose interpreter has no debug info.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "cpython/offsets.h"

namespace pyattach::cpython {

// One field of a table entry, named as for_each_field names it.
struct OffsetsTableField {
  std::string_view name;
  std::uint64_t value;  // kAbsent for a field the version lacks
};

// The layout of one or more patch releases of one minor version, which the
// generator found identical.
struct OffsetsTableEntry {
  int major, minor;
  std::span<const int> micros;           // the patch releases it was made from
  std::string_view origin;                // the builds it was read from
  std::span<const OffsetsTableField> fields;
};

// Every built-in entry, ordered by (minor, first micro).
std::span<const OffsetsTableEntry> builtin_offsets_table();

// The Offsets an entry describes, with version set to `version`. Fails with
// kInternal when the entry lacks a field of Offsets or names one it does not
// have (a table older than the code: regenerate it).
Result<Offsets> offsets_from_entry(const OffsetsTableEntry& entry, const PythonVersion& version);

// The entry for `version` in `table`: the one made from that patch release,
// else the one of the same minor made from the nearest patch (`exact` is then
// false); nullptr when the table has nothing for the minor.
const OffsetsTableEntry* find_offsets_entry(std::span<const OffsetsTableEntry> table,
                                            const PythonVersion& version, bool& exact);

// Offsets from the built-in table (or a given one, for tests). load() logs a
// warning (logger "cpython") when it falls back to another patch release, and
// fails with kUnsupportedVersion for a version outside 3.8-3.13 and with
// kDebugInfo for a supported minor the table lacks.
class TableOffsetsSource final : public OffsetsSource {
 public:
  TableOffsetsSource() : table_(builtin_offsets_table()) {}
  explicit TableOffsetsSource(std::span<const OffsetsTableEntry> table) : table_(table) {}
  std::string_view name() const override { return "table"; }
  Result<Offsets> load(const PythonVersion& version) const override;

 private:
  std::span<const OffsetsTableEntry> table_;
};

}  // namespace pyattach::cpython
