// Owns the set of ptrace-stopped threads of one process.
#pragma once

#include <sys/types.h>
#include <sys/user.h>

#include <map>
#include <memory>
#include <span>
#include <vector>

#include "core/result.h"

namespace pyattach::attach {

struct StopOptions {
  // Give up on a thread that does not report its stop within this time.
  int stop_timeout_ms = 2000;
};

struct StoppedThread {
  pid_t tid = 0;
  user_regs_struct regs{};  // read once, right after the stop
};

// PTRACE_SEIZE + PTRACE_INTERRUPT on every thread of a process, re-listing
// /proc/PID/task until no new thread appears (a thread that fails with ESRCH has
// exited and is skipped). While an instance lives, every thread is stopped.
//
// Detaches every thread in detach() or the destructor, on every path. While any
// instance is alive, SIGINT/SIGTERM/SIGHUP/SIGPIPE/SIGQUIT are caught: the
// handler detaches all threads and re-raises the signal with its default
// action, so pyattach dies but the target runs on. If pyattach is killed with
// SIGKILL the kernel detaches (PTRACE_SEIZE) and the target resumes.
//
// A process that was stopped (SIGSTOP, state T) before we came stays stopped
// after we leave (the kernel re-enters group-stop at PTRACE_DETACH).
//
// Signals: a signal sent to the target while it is stopped stays pending and
// is delivered normally after detach. A signal the kernel had already
// dequeued while we were attaching (a signal-delivery-stop instead of our
// interrupt-stop) is kept: that thread stays in its signal-delivery-stop and
// the signal is passed to PTRACE_DETACH, so it is delivered with its original
// siginfo.
//
// Threading: ptrace binds tracees to the thread that seized them, so stop(),
// detach() and the destructor must run on the same thread. (LiveMemory and
// Unwinder issue no ptrace requests and may run on any thread.) The fatal-
// signal handler detaches only the threads seized by the thread it runs on;
// the rest are detached by the kernel when pyattach dies of the re-raise.
//
// A thread that never reaches its stop within stop_timeout_ms cannot be
// detached while it runs; stop() fails and that thread is detached by a later
// stop()/detach() on the same thread once it has stopped (or at exit).
class StoppedProcess {
 public:
  // Fails, leaving the target untouched, with kNoSuchProcess, kPermissionDenied
  // (hint: ptrace_scope value and sysctl, CAP_SYS_PTRACE), or kAlreadyTraced
  // (naming the TracerPid's command). Also kUsage (pid is our own, or a
  // non-main thread id: the hint names its process) and kInternal (a thread
  // did not stop within stop_timeout_ms, e.g. stuck in state D).
  static Result<StoppedProcess> stop(pid_t pid, const StopOptions& options = {});
  // The checks stop() makes before touching the process (exists, not a
  // zombie, not a thread id, not already traced, /proc/PID/root accessible:
  // else kPermissionDenied explained by attach::permission_denied), for
  // callers that want the error before doing slow work. Touches nothing.
  static Result<void> check_attachable(pid_t pid);

  StoppedProcess(StoppedProcess&&) noexcept;
  StoppedProcess& operator=(StoppedProcess&&) noexcept;
  StoppedProcess(const StoppedProcess&) = delete;
  StoppedProcess& operator=(const StoppedProcess&) = delete;
  ~StoppedProcess();  // detach(); never throws

  pid_t pid() const;  // 0 for a moved-from instance
  // Stopped threads: the main thread first (absent if it has already exited),
  // then ascending tids. Threads that exited while we attached are left out.
  // Empty after detach(); the span is invalidated by detach() and moves.
  std::span<const StoppedThread> threads() const;
  // Resumes and detaches every thread. Idempotent. Failures (a thread killed
  // meanwhile) are logged, never reported.
  void detach();
  bool attached() const;
  // --stats: of the time stop() took, how much went to PTRACE_GETREGS (the
  // rest is seizing, interrupting and waiting for the stops).
  double registers_ms() const;

 private:
  struct State;
  explicit StoppedProcess(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace pyattach::attach
