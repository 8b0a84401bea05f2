// The GIL as the target's memory shows it: 3.8-3.11 one per runtime
// (_PyRuntime.ceval.gil), 3.12+ one per interpreter (interp->ceval.gil
// points to it; the main interpreter's is interp->_gil).
#pragma once

#include "core/remote_memory.h"
#include "cpython/offsets.h"

namespace pyattach::cpython {

struct GilState {
  RemoteAddr address;      // struct _gil_runtime_state
  bool locked = false;     // `locked` is 1 (it is -1 before the GIL is created)
  RemoteAddr last_holder;  // PyThreadState* that holds or last held it
};

// Reads the GIL of `interp` (3.12+) or of the runtime (<= 3.11; `interp` is
// ignored). Fails with kDebugInfo when the offsets lack the GIL fields, or
// with the memory error.
Result<GilState> read_gil(const RemoteMemory& memory, const Offsets& offsets,
                          RemoteAddr runtime, RemoteAddr interp);

// What a futex word lies in, when it lies in the GIL: its condition variable
// (take_gil waits there for the GIL), its switch condition (drop_gil waits
// there, after dropping, for another thread to take it: FORCE_SWITCHING), or
// one of its mutexes (held briefly by take_gil and drop_gil alike).
enum class GilFutex { kNone, kCond, kSwitchCond, kMutex };
GilFutex classify_gil_futex(const GilState& gil, const Offsets& offsets, RemoteAddr word);

}  // namespace pyattach::cpython
