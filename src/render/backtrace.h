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
void print_py_bt(std::ostream& out, const cpython::ThreadSnapshot& thread,
                 const SourceProvider& sources);

// bt: numbered native frames, each eval frame followed by its Python frames.
void print_bt(std::ostream& out, const cpython::ThreadSnapshot& thread,
              const SourceProvider& sources);

// Python's str.strip() for the whitespace a source line can hold.
std::string strip_whitespace(std::string_view s);

}  // namespace pyattach::render
