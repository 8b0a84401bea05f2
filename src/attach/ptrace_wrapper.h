// Private to attach/: the one place that calls ptrace() and waitpid().
//
// Every call is logged to the "ptrace" logger (trace level: request, tid,
// arguments, result), retried on EINTR, and returns a Result whose Error keeps
// errno in sys_errno (code kInternal; callers map ESRCH/EPERM to what they
// mean in context). ptrace requests must come from the thread that seized the
// tracee: the kernel ties a tracee to a tracer thread, not to a process.
#pragma once

#include <signal.h>
#include <sys/types.h>
#include <sys/user.h>

#include <chrono>
#include <optional>

#include "attach/wait_status.h"
#include "core/result.h"

namespace pyattach::attach {

// PTRACE_SEIZE with no options: the tracee keeps running.
Result<void> ptrace_seize(pid_t tid);
// PTRACE_INTERRUPT: asks a seized tracee to enter a PTRACE_EVENT_STOP.
Result<void> ptrace_interrupt(pid_t tid);
// PTRACE_DETACH; `sig` is delivered only if the tracee is in a
// signal-delivery-stop (the kernel ignores it in event stops).
Result<void> ptrace_detach(pid_t tid, int sig);
Result<user_regs_struct> ptrace_get_regs(pid_t tid);
Result<siginfo_t> ptrace_get_siginfo(pid_t tid);

// waitpid(tid, __WALL | WNOHANG): nullopt when tid has nothing to report yet.
Result<std::optional<WaitStatus>> wait_nohang(pid_t tid);
// Polls wait_nohang until tid reports or `deadline` passes (then nullopt).
// Polling, not a blocking waitpid: a thread stuck in the kernel (state D) must
// not hang us.
Result<std::optional<WaitStatus>> wait_until(pid_t tid,
                                             std::chrono::steady_clock::time_point deadline);

}  // namespace pyattach::attach
