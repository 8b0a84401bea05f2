// What each thread is doing: its relation to the GIL and its activity,
// decided from the snapshot (native frames, registers, system call) and the
// GIL read from the target. Only what the evidence proves is claimed; the
// rest is kUnknown.
#pragma once

#include <optional>
#include <string_view>

#include "cpython/gil.h"
#include "cpython/offsets.h"
#include "cpython/snapshot.h"

namespace pyattach::cpython {

// Sets thread.gil and thread.activity. thread.native, thread.regs,
// thread.syscall and thread.tstate must be filled. `gil` is the GIL of the
// thread's interpreter, nullopt when it could not be read. `interpreter_path`
// is the module holding the interpreter: a libc wait called directly from it
// (a stripped build's unnamed take_gil, PyThread_acquire_lock_timed, pysleep)
// is evidence where names are missing.
//
// GIL: kWaiting if a native frame is take_gil or the thread waits on the
// futex of the GIL's condition variable; kDropping if a frame is drop_gil or
// it waits on the GIL's switch condition; else kHolds if the GIL is locked
// and its last holder is this thread state; else kNotHolding (also for
// threads without a thread state); kUnknown when the GIL could not be read.
//
// Activity, first match: kIdle (no thread state), kWaitingForGil,
// kDroppingGil, kHoldsGil (holds the GIL and is blocked in a system call),
// kBlockedOnLock, kSleeping, kInSyscall, kRunningPython (holds the GIL, not in
// a system call, innermost frame in the interpreter), kRunningNative (outside
// the interpreter, not in a system call), else kUnknown.
void classify_thread(ThreadSnapshot& thread, const std::optional<GilState>& gil,
                     const Offsets& offsets, std::string_view interpreter_path);

}  // namespace pyattach::cpython
