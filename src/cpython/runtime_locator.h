// Finding _PyRuntime (the root of every CPython data structure) in a process,
// with or without symbols.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/remote_memory.h"
#include "cpython/version.h"

namespace pyattach::cpython {

// How _PyRuntime was found, best evidence first.
enum class RuntimeFoundBy {
  kPyRuntimeSection,    // the .PyRuntime ELF section (3.10+), which holds only _PyRuntime
  kDynamicSymbol,       // _PyRuntime in .dynsym
  kSymbol,              // _PyRuntime in .symtab (or the separate debug file's)
  kDebugOffsetsCookie,  // a validated _Py_DebugOffsets header ("xdebugpy", 3.13+) in memory
};
// ".PyRuntime section", "_PyRuntime in .dynsym", ...: for -v and `info target`.
std::string_view describe(RuntimeFoundBy how);

struct AddressRange {
  std::uint64_t start = 0, size = 0;
  std::uint64_t end() const { return start + size; }
};

// What the locator needs of one mapped module: a view of its ELF file (when
// it could be read) and of its mappings. Built from the symbols layer by the
// caller; plain data so tests can describe any layout.
struct ModuleImage {
  std::string path;        // as the target names it
  std::uint64_t bias = 0;  // runtime address = link-time address + bias
  std::optional<AddressRange> pyruntime_section;  // link-time
  std::optional<std::uint64_t> runtime_symbol;    // link-time value of _PyRuntime
  bool runtime_symbol_dynamic = false;            // it is in .dynsym
  std::vector<AddressRange> writable;  // runtime ranges of its writable mappings
};

struct RuntimeCandidate {
  std::size_t module = 0;  // index into the modules searched
  RemoteAddr address;      // &_PyRuntime
  RuntimeFoundBy found_by = RuntimeFoundBy::kPyRuntimeSection;
  // PY_VERSION_HEX of the _Py_DebugOffsets header, when found by the scan.
  std::optional<PythonVersion> header_version;
};

struct RuntimeScanLimits {
  std::uint64_t max_bytes = std::uint64_t{64} << 20;  // all modules together
  std::uint64_t chunk_bytes = std::uint64_t{1} << 20;
};

// Every _PyRuntime in the modules, in module order. A module with a
// .PyRuntime section gives its start (the symbol is only cross-checked: a
// disagreement is logged), else a module with a _PyRuntime symbol gives the
// symbol. Only when no module has either, the writable mappings are scanned
// for a _Py_DebugOffsets header (cookie "xdebugpy" at an 8-byte boundary,
// then version 3.13+, free_threaded 0 or 1, sane struct sizes, and for 3.13
// the full validate_debug_offsets): modules whose file name says python first,
// the others only if those hold none. The scan reads at most
// limits.max_bytes; it reads the target while it runs, which is safe because
// the header is written once, before main() runs Python.
std::vector<RuntimeCandidate> find_runtime_candidates(std::span<const ModuleImage> modules,
                                                      const RemoteMemory& memory,
                                                      const RuntimeScanLimits& limits = {});

// Is the header at `addr` a plausible _Py_DebugOffsets? Its version when so.
std::optional<PythonVersion> read_debug_offsets_version(const RemoteMemory& memory,
                                                        RemoteAddr addr);

// The candidate that runs Python, for an interpreter mapped more than once
// (a libpython loaded again under another name, or a static interpreter that
// also maps a libpython): the first whose interpreters.head is not null.
// `head_offset` gives the offset of _PyRuntimeState.interpreters.head for a
// candidate (nullopt when its version is unknown). With one candidate, or
// none initialised (a process still starting), the first. nullopt if empty.
std::optional<std::size_t> choose_live_runtime(
    std::span<const RuntimeCandidate> candidates, const RemoteMemory& memory,
    const std::function<std::optional<std::uint64_t>(const RuntimeCandidate&)>& head_offset);

}  // namespace pyattach::cpython
