// The Python-level name of a thread, shared by `info threads` and `deadlock`.
#pragma once

#include <string>

#include "session.h"

namespace pyattach::cli {

// The name of the threading.Thread a thread runs: threading's _bootstrap(self)
// is the outermost Python frame of every thread it starts, and self._name is
// the name. Empty when the thread was not started by threading (the main
// thread, C threads) or the object cannot be read: we never guess. Needs the
// target stopped (reads values).
std::string python_thread_name(Session& session, const cpython::ThreadSnapshot& thread);
// The same from a value reader (Session::read_python_thread_names).
std::string python_thread_name(cpython::ValueReader& values, const cpython::ThreadSnapshot& thread);

}  // namespace pyattach::cli
