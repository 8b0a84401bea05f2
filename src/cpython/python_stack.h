// Walking CPython's runtime: interpreters, thread states, and the Python
// frame chain of one thread, for 3.8-3.13.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/remote_memory.h"
#include "cpython/offsets.h"
#include "cpython/snapshot.h"

namespace pyattach::cpython {

struct ThreadStateInfo {
  RemoteAddr tstate;
  RemoteAddr interp;                   // its PyInterpreterState
  std::uint64_t thread_id = 0;         // pthread_t
  std::uint64_t native_thread_id = 0;  // LWP, 3.11+; 0 before
};

// Every thread state of every interpreter, bounded (64 interpreters, 100000
// thread states) and cycle-safe. Fails only if _PyRuntime itself is unreadable.
Result<std::vector<ThreadStateInfo>> read_thread_states(const RemoteMemory& memory,
                                                        RemoteAddr runtime,
                                                        const Offsets& offsets);

// The Python frames of one thread, innermost first, grouped by the C-level
// eval call that runs them.
struct PythonStack {
  std::vector<PyFrameSnapshot> frames;
  struct Segment {
    std::size_t first = 0;  // index into frames
    std::size_t count = 0;  // may be 0 (a segment whose frames are all incomplete)
    // An address on the C stack inside the eval C frame that runs this
    // segment: its _PyCFrame (3.11) or entry shim frame (3.12+). Null (<=3.10)
    // when only order can map it.
    RemoteAddr c_stack_marker;
  };
  std::vector<Segment> segments;  // innermost first
  std::vector<std::string> warnings;
};

// Reads code objects once each; lives as long as one snapshot.
class CodeCache {
 public:
  struct CodeInfo {
    bool readable = false;
    std::string filename, name, qualname;
    int firstlineno = 0;
    std::vector<std::byte> linetable;
    int firsttraceable = 0;  // 3.11+
  };
  const CodeInfo& get(const RemoteMemory& memory, const Offsets& offsets, RemoteAddr code);

 private:
  std::unordered_map<RemoteAddr, CodeInfo> cache_;
};

PythonStack read_python_stack(const RemoteMemory& memory, const Offsets& offsets,
                              RemoteAddr tstate, CodeCache& codes,
                              std::size_t max_frames = 8192);

// A str object as UTF-8, or "???" style placeholders are the caller's choice:
// this fails on unreadable or corrupt objects. Bounded to max_chars.
Result<std::string> read_str(const RemoteMemory& memory, const Offsets& offsets,
                             RemoteAddr obj, std::size_t max_chars = 4096);

}  // namespace pyattach::cpython
