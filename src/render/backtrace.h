// python-gdb.py-style text for py-bt and gdb-style text for bt, from a
// snapshot. Reads no target memory; source lines come from a provider.
#pragma once

#include <functional>
#include <optional>
#include <ostream>
#include <string>

#include "cpython/snapshot.h"

namespace pyattach::render {

// The text of line `line` (1-based) of `filename` as the target sees it,
// without its line terminator; nullopt if the file or line is unavailable.
using SourceProvider =
    std::function<std::optional<std::string>(const std::string& filename, int line)>;

// gdb's thread header: Thread N (Thread 0x7f... (LWP 123) "comm"):
std::string thread_header(const cpython::ThreadSnapshot& thread, int number);

// py-bt for one thread, exactly as python-gdb.py prints it: "Traceback (most
// recent call first):", File lines, source lines, and its lines for C
// functions; or "Unable to locate python frame".
// Starts at native frame `from` (gdb's selected frame): python-gdb.py walks
// from the selected frame outwards.
void print_py_bt(std::ostream& out, const cpython::ThreadSnapshot& thread,
                 const SourceProvider& sources, std::size_t from = 0);

// The first native frame at or after `from` that python-gdb.py counts as a
// Python frame (an eval frame, or a C function it describes); nullopt if none.
std::optional<std::size_t> python_frame_at_or_after(const cpython::ThreadSnapshot& thread,
                                                    std::size_t from);
// The same, moving in either direction from `from`, excluding it.
std::optional<std::size_t> next_python_frame(const cpython::ThreadSnapshot& thread,
                                             std::size_t from, bool older);

// gdb's line for one native frame: "#6  0x00007f... in SYMBOL () from LIB".
// A frame without a name is "?? ()" as in gdb, followed by a bracketed note
// when pyattach knows what it runs anyway: the eval loop (by address) or a
// call of a built-in function (by the PyCFunctionObject's ml_meth).
std::string native_frame_line(const cpython::NativeFrameSnapshot& frame, std::size_t index);

// bt: numbered native frames, each eval frame followed by its Python frames.
void print_bt(std::ostream& out, const cpython::ThreadSnapshot& thread,
              const SourceProvider& sources);

// Python's str.strip() for the whitespace a source line can hold.
std::string strip_whitespace(std::string_view s);

}  // namespace pyattach::render
