// Private to attach/: detaching seized threads when pyattach is killed by a
// catchable signal.
//
// A fixed table of seized tids lives in static storage, written with atomics,
// so the handler can read it without locks or allocation. The handler
// (SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGQUIT) PTRACE_DETACHes, with a raw
// syscall, every tid that the receiving thread traces, re-injecting a signal
// recorded with set_pending_signal, then restores SIG_DFL and re-raises, so
// pyattach dies of the signal and the target runs on.
//
// Tids beyond the table's capacity, tids traced by another thread, and threads
// not yet in a ptrace-stop cannot be detached by the handler; the kernel
// detaches them when pyattach exits (exit_ptrace), which the re-raise ensures.
#pragma once

#include <sys/types.h>

namespace pyattach::attach::fatal_signals {

// Reference-counted: the first acquire installs the handlers (remembering the
// previous dispositions), the last release restores them, unless the
// disposition was changed meanwhile by someone else (theirs is kept). A signal
// that was SIG_IGN before is left ignored (e.g. SIGHUP under nohup). Call from
// normal code only, never from a signal handler.
void acquire();
void release();

// Adds/removes a seized tid traced by the calling thread. Returns false when
// the table is full (logged once; the kernel still detaches at exit).
bool add(pid_t tid);
void remove(pid_t tid);
// Records the signal to pass to PTRACE_DETACH for tid (0 = none).
void set_pending_signal(pid_t tid, int sig);

// Slot capacity, for tests and logs.
constexpr int kCapacity = 8192;

}  // namespace pyattach::attach::fatal_signals
