// Glue between the layers: find the interpreter in a process, learn its
// layout (all file work, before the target is stopped), then capture a
// snapshot while it is stopped.
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "attach/live_memory.h"
#include "attach/stopped_process.h"
#include "core/proc_maps.h"
#include "core/result.h"
#include "cpython/offsets.h"
#include "cpython/snapshot.h"
#include "symbols/dwarf_layouts.h"
#include "symbols/module_symbolizer.h"

namespace pyattach::cli {

struct Interpreter {
  std::string module_path;  // libpython or the executable, as the target names it
  cpython::PythonVersion version;
  RemoteAddr runtime;       // &_PyRuntime
  RemoteAddr cfunction_type, cmethod_type;
};

// Where the CPython offsets come from (--offsets-from). kAuto: DWARF of the
// interpreter or its separate debug file, else the target's _Py_DebugOffsets
// (3.13+), else the built-in table.
enum class OffsetsFrom { kAuto, kDwarf, kDebugOffsets, kTable };
// "auto", "dwarf", "debug-offsets", "table"; nullopt for anything else.
std::optional<OffsetsFrom> parse_offsets_from(std::string_view text);

// Everything learned about a process before stopping it.
class PreparedTarget {
 public:
  // Fails with kNoSuchProcess, kNotPython, kUnsupportedVersion or kDebugInfo
  // (also when `from` names a source that is unavailable for this target).
  static Result<std::unique_ptr<PreparedTarget>> prepare(
      pid_t pid, OffsetsFrom from = OffsetsFrom::kAuto);

  pid_t pid() const { return pid_; }
  const Interpreter& interpreter() const { return interpreter_; }
  const cpython::Offsets& offsets() const { return offsets_; }
  const symbols::ModuleSymbolizer& symbols() const { return symbols_; }
  const RemoteMemory& memory() const { return memory_; }
  std::string_view offsets_source() const { return offsets_source_; }

  // Reads every thread of the stopped process into plain data.
  Result<cpython::ProcessSnapshot> capture(const attach::StoppedProcess& stopped) const;

 private:
  explicit PreparedTarget(pid_t pid) : pid_(pid), memory_(pid) {}
  // Fills offsets_ and offsets_source_ from the source `from` selects.
  Result<void> load_offsets(OffsetsFrom from, const symbols::LoadedModule& module);
  pid_t pid_;
  attach::LiveMemory memory_;
  std::vector<MemoryMapping> maps_;
  symbols::ModuleSymbolizer symbols_;
  Interpreter interpreter_;
  std::unique_ptr<symbols::DwarfLayouts> layouts_;
  cpython::Offsets offsets_;
  std::string offsets_source_;
};

}  // namespace pyattach::cli
