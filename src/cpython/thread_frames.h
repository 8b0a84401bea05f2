// Joins a thread's native frames and Python frames into one picture: which
// C frame runs which Python frames, and python-gdb.py's extra lines for C
// functions called from Python.
#pragma once

#include <vector>

#include "core/native_frame.h"
#include "core/remote_memory.h"
#include "core/symbolizer.h"
#include "cpython/offsets.h"
#include "cpython/python_stack.h"
#include "cpython/snapshot.h"

namespace pyattach::cpython {

struct FrameContext {
  const RemoteMemory& memory;
  const Offsets& offsets;
  const Symbolizer& symbols;
  RemoteAddr cfunction_type;  // &PyCFunction_Type
  RemoteAddr cmethod_type;    // &PyCMethod_Type (3.9+), null before
};

// Fills thread.native, thread.python and thread.mapping.
//
// Placement is by address where CPython leaves a mark on the C stack (3.11:
// each eval call's _PyCFrame; 3.12+: its entry shim frame): the one C frame
// whose [sp, cfa) holds the mark runs that segment. Elsewhere (3.8-3.10, or a
// mark outside every unwound frame) segments go, in order, to the remaining
// _PyEval_EvalFrameDefault frames, and thread.mapping says kByOrder.
void build_thread_frames(ThreadSnapshot& thread, const std::vector<NativeFrame>& native,
                         PythonStack stack, const FrameContext& context);

// The "<built-in method NAME of TYPE object at remote 0xADDR>" text of a
// PyCFunctionObject, as python-gdb.py prints it, or an error if unreadable.
Result<std::string> describe_cfunction(const RemoteMemory& memory, const Offsets& offsets,
                                       RemoteAddr func);

}  // namespace pyattach::cpython
