// Plain data captured while the target is stopped; render/ formats it after
// the target runs again. Nothing here points into the target.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/native_frame.h"
#include "core/remote_ptr.h"
#include "cpython/version.h"

namespace pyattach::cpython {

// One Python-level frame.
struct PyFrameSnapshot {
  RemoteAddr address;  // PyFrameObject (<=3.10) or _PyInterpreterFrame (3.11+)
  RemoteAddr code;
  bool readable = true;  // false: render "(unable to read python frame information)"
  std::string filename;
  std::string name;      // co_name, as py-bt prints it
  std::string qualname;  // co_qualname (3.11+), else co_name
  std::optional<int> line;
};

// How Python frames were placed on C frames.
enum class FrameMapping {
  kNone,       // no Python frames, or no eval frames found
  kByAddress,  // each segment's _PyCFrame / entry shim lies in one C frame's stack
  kByOrder,    // counted eval C frames against Python frames (<=3.10, or fallback)
};

// A native frame, symbolised, with what Python runs in it.
struct NativeFrameSnapshot {
  NativeFrame frame;
  std::string symbol;       // function name; empty if unknown
  std::uint64_t symbol_offset = 0;
  std::string module;       // mapped file path; empty if none
  bool is_eval = false;     // a _PyEval_EvalFrameDefault C frame
  std::vector<std::size_t> python_frames;  // indices into ThreadSnapshot::python
  // python-gdb.py's "other python frame" line, without indentation:
  // "<built-in method sleep of module object at remote 0x...>",
  // "Waiting for the GIL", "Garbage-collecting". Empty if none.
  std::string other_python_info;
};

struct ThreadSnapshot {
  pid_t tid = 0;
  std::uint64_t pthread_id = 0;  // fs_base: what gdb prints as "Thread 0x..."
  std::string comm;              // /proc/PID/task/TID/comm
  RemoteAddr tstate;             // null if the thread has no PyThreadState
  std::vector<PyFrameSnapshot> python;  // innermost first
  std::vector<NativeFrameSnapshot> native;  // innermost first
  FrameMapping mapping = FrameMapping::kNone;
  std::vector<std::string> warnings;  // e.g. "unwinding stopped at frame #12: ..."
};

struct ProcessSnapshot {
  pid_t pid = 0;
  PythonVersion version;
  std::string interpreter_path;  // the module holding the interpreter
  std::vector<ThreadSnapshot> threads;  // main thread first
};

}  // namespace pyattach::cpython
