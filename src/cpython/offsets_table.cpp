#include "cpython/offsets_table.h"

#include <cstdlib>

#include <fmt/format.h>

#include "core/log.h"

namespace pyattach::cpython {
namespace {

#include "cpython/offsets_table.inc"

}  // namespace

std::span<const OffsetsTableEntry> builtin_offsets_table() { return kOffsetsTable; }

Result<Offsets> offsets_from_entry(const OffsetsTableEntry& entry, const PythonVersion& version) {
  Offsets o;
  o.version = version;
  std::string missing;
  std::size_t used = 0;
  for_each_field(o, [&](std::string_view name, auto& field) {
    for (const auto& f : entry.fields) {
      if (f.name != name) continue;
      field = static_cast<std::remove_reference_t<decltype(field)>>(f.value);
      ++used;
      return;
    }
    if (missing.empty()) missing = std::string(name);
  });
  if (!missing.empty() || used != entry.fields.size())
    return fail(ErrorCode::kInternal,
                fmt::format("the built-in offsets of CPython {}.{} {}", entry.major, entry.minor,
                            missing.empty() ? "name a field Offsets does not have"
                                            : "lack " + missing),
                0, "regenerate src/cpython/offsets_table.inc (scripts/gen_offsets_table.py)");
  return o;
}

const OffsetsTableEntry* find_offsets_entry(std::span<const OffsetsTableEntry> table,
                                            const PythonVersion& version, bool& exact) {
  exact = false;
  const OffsetsTableEntry* best = nullptr;
  int best_distance = 0;
  for (const auto& entry : table) {
    if (entry.major != version.major || entry.minor != version.minor) continue;
    for (int micro : entry.micros) {
      if (micro == version.micro) {
        exact = true;
        return &entry;
      }
      int distance = std::abs(micro - version.micro);
      // Ties go to the newer release: layouts change in later patches rarely,
      // and a target newer than every entry is the common case.
      if (!best || distance <= best_distance) {
        best = &entry;
        best_distance = distance;
      }
    }
  }
  return best;
}

Result<Offsets> TableOffsetsSource::load(const PythonVersion& version) const {
  if (!is_supported(version))
    return fail(ErrorCode::kUnsupportedVersion,
                fmt::format("pyattach has no offsets for CPython {}", version.to_string()), 0,
                "pyattach supports CPython 3.8 to 3.13");
  bool exact = false;
  const OffsetsTableEntry* entry = find_offsets_entry(table_, version, exact);
  if (!entry)
    return fail(ErrorCode::kDebugInfo,
                fmt::format("the built-in table has no offsets for CPython {}.{}", version.major,
                            version.minor),
                0, "install the interpreter's debug symbols");
  if (!exact) {
    std::string micros;
    for (int micro : entry->micros)
      micros += fmt::format("{}{}.{}.{}", micros.empty() ? "" : ", ", entry->major,
                            entry->minor, micro);
    log::get("cpython")->warn(
        "no built-in offsets for CPython {}; using those of {} (same minor version)",
        version.to_string(), micros);
  }
  return offsets_from_entry(*entry, version);
}

}  // namespace pyattach::cpython
