// Private to attach/: a waitpid() status decoded once into a value with a
// named kind, so no other code repeats WIFSTOPPED/status>>16 logic.
#pragma once

#include <string>

namespace pyattach::attach {

// The kernel's PTRACE_EVENT_STOP (checked against <sys/ptrace.h> in the .cpp,
// kept out of this header so tests need not include ptrace headers).
inline constexpr int kPtraceEventStop = 128;

enum class WaitKind {
  kExited,          // the thread exited; exit_code is set
  kKilled,          // killed by a signal; signal is set
  kSignalStop,      // signal-delivery-stop: `signal` is about to be delivered
                    // unless the tracer suppresses it
  kGroupStop,       // PTRACE_SEIZE'd group-stop: PTRACE_EVENT_STOP with a stop
                    // signal (SIGSTOP/SIGTSTP/SIGTTIN/SIGTTOU) in `signal`
  kInterruptStop,   // PTRACE_EVENT_STOP with SIGTRAP: PTRACE_INTERRUPT (or
                    // PTRACE_LISTEN) took effect
  kEventStop,       // any other PTRACE_EVENT_* stop; `event` is set
  kSyscallStop,     // SIGTRAP|0x80 (only with PTRACE_O_TRACESYSGOOD)
  kContinued,       // WIFCONTINUED
  kUnknown,
};

struct WaitStatus {
  WaitKind kind = WaitKind::kUnknown;
  int raw = 0;
  int exit_code = 0;  // kExited
  int signal = 0;     // kKilled, kSignalStop, kGroupStop, kInterruptStop, kEventStop
  int event = 0;      // PTRACE_EVENT_* for stops, else 0
  bool core_dumped = false;

  // Decodes a raw status as waitpid() stores it.
  static WaitStatus decode(int raw_status);

  // A ptrace-stop of any kind: the thread is in TASK_TRACED and will not run
  // until the tracer resumes or detaches it.
  bool is_stopped() const {
    return kind == WaitKind::kSignalStop || kind == WaitKind::kGroupStop ||
           kind == WaitKind::kInterruptStop || kind == WaitKind::kEventStop ||
           kind == WaitKind::kSyscallStop;
  }
  bool is_gone() const { return kind == WaitKind::kExited || kind == WaitKind::kKilled; }

  // "signal-delivery-stop SIGUSR1", "exited 3", ... for logs.
  std::string describe() const;
};

const char* kind_name(WaitKind kind);
// "SIGUSR1", "SIGRTMIN+1", or "signal 99".
std::string signal_name(int sig);

}  // namespace pyattach::attach
