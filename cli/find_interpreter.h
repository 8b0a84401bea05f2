// Which mapped module is the CPython interpreter, where its _PyRuntime is and
// which version it is: file and memory reads only, before the target stops.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "core/proc_maps.h"
#include "core/remote_memory.h"
#include "core/result.h"
#include "symbols/module_symbolizer.h"
#include "target.h"

namespace pyattach::cli {

// _PyRuntime by cpython::find_runtime_candidates (the .PyRuntime section, the
// _PyRuntime symbol, then a _Py_DebugOffsets scan); among several (an
// interpreter mapped twice) the initialised one. The version from Py_Version
// (3.11+), else the _Py_DebugOffsets header (3.13+), else the file name and
// PY_VERSION in .rodata. Fails with kNotPython or kUnsupportedVersion; `comm`
// names the process in messages.
struct FoundInterpreter {
  Interpreter interpreter;
  const symbols::LoadedModule* module = nullptr;  // in the symbolizer given
};
Result<FoundInterpreter> find_interpreter(pid_t pid, const std::string& comm,
                                     const std::vector<MemoryMapping>& maps,
                                     const symbols::ModuleSymbolizer& symbols,
                                     const RemoteMemory& memory);

}  // namespace pyattach::cli
