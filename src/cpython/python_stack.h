// Walking CPython's runtime: interpreters, thread states, and the Python
// frame chain of one thread, for 3.8-3.13.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/remote_memory.h"
#include "cpython/line_table.h"
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
  // Read but not decoded yet (read_python_stack with decode=false): small
  // records that decode_frames turns into `frames` (names and line), so the
  // walk done while the target is stopped copies no strings. Empty once
  // decoded; `frames` is empty until then.
  struct RawFrame {
    RemoteAddr address, code;
    bool readable = false;
    // The line itself (a traced frame's f_lineno, or firstlineno before the
    // first instruction), else looked up at `addrq` in the code's table.
    std::optional<int> line;
    LineTableFormat format = LineTableFormat::kLocationTable;
    int addrq = 0;
  };
  std::vector<RawFrame> raw;
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
  // A code object already read by get(); null if never read.
  const CodeInfo* find(RemoteAddr code) const;

 private:
  std::unordered_map<RemoteAddr, CodeInfo> cache_;
  // The last code looked up, pointing into cache_; copies and moves start
  // without it rather than point into another cache.
  struct Last {
    RemoteAddr code;
    const CodeInfo* info = nullptr;
    Last() = default;
    Last(const Last&) {}
    Last& operator=(const Last&) {
      info = nullptr;
      return *this;
    }
  };
  Last last_;
};

inline constexpr std::size_t kMaxPythonFrames = 8192;

// decode=false leaves names and lines to decode_frames: while the target is
// stopped only memory is read (code objects, once each, into `codes`); the
// string copies and line-table walks for every frame come after the release.
PythonStack read_python_stack(const RemoteMemory& memory, const Offsets& offsets,
                              RemoteAddr tstate, CodeCache& codes,
                              std::size_t max_frames = kMaxPythonFrames, bool decode = true);

// The address of a thread's innermost Python frame (a PyFrameObject <= 3.10,
// a _PyInterpreterFrame 3.11+), where read_python_stack starts; null when
// the thread runs no Python code or its state is unreadable. Lets a caller
// fetch the first frames of every thread in one batch before walking them.
RemoteAddr innermost_frame_address(const RemoteMemory& memory, const Offsets& offsets,
                                   RemoteAddr tstate);

// Gives each frame of a stack read with decode=false its file, names and
// line from `codes` (no target memory is read).
void decode_frames(PythonStack& stack, const CodeCache& codes);

// A str object as UTF-8, or "???" style placeholders are the caller's choice:
// this fails on unreadable or corrupt objects. Bounded to max_chars.
Result<std::string> read_str(const RemoteMemory& memory, const Offsets& offsets,
                             RemoteAddr obj, std::size_t max_chars = 4096);

}  // namespace pyattach::cpython
