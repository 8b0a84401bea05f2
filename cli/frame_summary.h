// python-gdb.py's print_summary: what py-up, py-down and py-bt-full print for
// one native frame.
#pragma once

#include <cstddef>

#include <nlohmann/json.hpp>

#include "session.h"

namespace pyattach::cli {

// "#N Frame 0x..., for file F, line L, in NAME (locals...)" and the source
// line, for every Python frame the native frame runs; or "#N <built-in ...>"
// for a C function python-gdb.py describes; or "#N".
// "Frame 0x..., for file F, line L, in NAME (locals...)", cut at 1024
// characters as python-gdb.py cuts it.
std::string frame_repr(Session& session, const cpython::PyFrameSnapshot& frame);

// --format json: the locals of one Python frame, [{"name", "value": {"repr",
// "type", "address"}}], or null when they cannot be read (the target is no
// longer stopped, or the frame is unreadable).
nlohmann::json locals_json(Session& session, const cpython::PyFrameSnapshot& frame);

void print_frame_summary(Session& session, const cpython::ThreadSnapshot& thread,
                         std::size_t native_index);

}  // namespace pyattach::cli
