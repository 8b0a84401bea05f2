// The `deadlock` command's text: every cycle of the wait-for graph as a short
// story, the threads stuck behind a cycle, GIL stalls, then the other waits.
// Reads no target memory.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cpython/deadlock.h"
#include "cpython/locks.h"
#include "cpython/snapshot.h"

namespace pyattach::render {

struct DeadlockReportInput {
  const cpython::ProcessSnapshot& snapshot;
  const cpython::LockAnalysis& locks;
  const cpython::DeadlockFindings& findings;
  std::vector<std::string> python_names;  // threading.Thread names, parallel to threads ("" if none)
};

// Python's repr() of a lock as the target would print it, with "remote":
// "<locked _thread.lock object at remote 0x7f...>",
// "<locked _thread.RLock object owner=140... count=1 at remote 0x7f...>".
std::string lock_repr(const cpython::LockState& lock);

// "Thread 2 (LWP 4243, \"worker\")": gdb's number, the LWP, the Python name or comm.
std::string thread_label(const DeadlockReportInput& in, std::size_t thread);

void print_deadlock_report(std::ostream& out, const DeadlockReportInput& in);

// The same findings for --format json (docs/pyattach-output.schema.json,
// $defs/deadlock): {"deadlocked", "cycles": [[edge...]...], "behind_cycles",
// "gil_stall", "held_by_gil_waiter", "other_waits"}; threads are gdb's
// numbers, locks carry repr, type and address.
nlohmann::json deadlock_json(const DeadlockReportInput& in);

}  // namespace pyattach::render
