// Words for a thread's state (cpython/thread_state.h): the stable keys JSON
// uses and the short text `info threads` and `thread apply` headers show.
#pragma once

#include <string>
#include <string_view>

#include "cpython/snapshot.h"

namespace pyattach::render {

// "holds_gil", "waiting_for_gil", "dropping_gil", "blocked_on_lock",
// "sleeping", "in_syscall", "running_python", "running_native", "idle",
// "unknown".
std::string_view activity_key(cpython::ThreadActivity activity);
// "unknown", "holds", "waiting", "dropping", "not_holding".
std::string_view gil_key(cpython::GilRelation gil);

// One line, not escaped (it holds fd targets, i.e. target file names):
// "holds the GIL, blocked in clock_nanosleep(CLOCK_REALTIME)", "waiting for
// the GIL", "blocked acquiring a lock", "in time.sleep", "in read(fd=7 ->
// pipe:[123])", "running Python code", "not a Python thread, in
// epoll_wait(...)".
std::string thread_state_text(const cpython::ThreadSnapshot& thread);

}  // namespace pyattach::render
