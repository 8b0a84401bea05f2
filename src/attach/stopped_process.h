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
// after we leave.
class StoppedProcess {
 public:
  // Fails, leaving the target untouched, with kNoSuchProcess, kPermissionDenied
  // (hint: ptrace_scope value and sysctl, CAP_SYS_PTRACE), or kAlreadyTraced
  // (naming the TracerPid's command).
  static Result<StoppedProcess> stop(pid_t pid, const StopOptions& options = {});

  StoppedProcess(StoppedProcess&&) noexcept;
  StoppedProcess& operator=(StoppedProcess&&) noexcept;
  StoppedProcess(const StoppedProcess&) = delete;
  StoppedProcess& operator=(const StoppedProcess&) = delete;
  ~StoppedProcess();  // detach(); never throws

  pid_t pid() const;
  // Stopped threads in /proc/PID/task order (the main thread first).
  std::span<const StoppedThread> threads() const;
  // Resumes and detaches every thread. Idempotent.
  void detach();
  bool attached() const;

 private:
  struct State;
  explicit StoppedProcess(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace pyattach::attach
