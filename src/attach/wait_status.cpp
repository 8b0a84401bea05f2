#include "attach/wait_status.h"

#include <sys/ptrace.h>
#include <sys/wait.h>

#include <csignal>
#include <cstring>

#include <fmt/format.h>

namespace pyattach::attach {

static_assert(kPtraceEventStop == PTRACE_EVENT_STOP);

WaitStatus WaitStatus::decode(int raw_status) {
  WaitStatus ws;
  ws.raw = raw_status;
  if (WIFEXITED(raw_status)) {
    ws.kind = WaitKind::kExited;
    ws.exit_code = WEXITSTATUS(raw_status);
  } else if (WIFSIGNALED(raw_status)) {
    ws.kind = WaitKind::kKilled;
    ws.signal = WTERMSIG(raw_status);
    ws.core_dumped = WCOREDUMP(raw_status);
  } else if (WIFCONTINUED(raw_status)) {
    ws.kind = WaitKind::kContinued;
  } else if (WIFSTOPPED(raw_status)) {
    ws.signal = WSTOPSIG(raw_status);
    ws.event = (raw_status >> 16) & 0xff;
    if (ws.event == PTRACE_EVENT_STOP) {
      // man 2 ptrace, "group-stop": with PTRACE_SEIZE a group-stop and a
      // PTRACE_INTERRUPT stop both report PTRACE_EVENT_STOP; only the signal
      // tells them apart.
      bool stop_signal = ws.signal == SIGSTOP || ws.signal == SIGTSTP ||
                         ws.signal == SIGTTIN || ws.signal == SIGTTOU;
      ws.kind = stop_signal ? WaitKind::kGroupStop : WaitKind::kInterruptStop;
    } else if (ws.event != 0) {
      ws.kind = WaitKind::kEventStop;
    } else if (ws.signal == (SIGTRAP | 0x80)) {
      ws.kind = WaitKind::kSyscallStop;
    } else {
      ws.kind = WaitKind::kSignalStop;
    }
  }
  return ws;
}

const char* kind_name(WaitKind kind) {
  switch (kind) {
    case WaitKind::kExited: return "exited";
    case WaitKind::kKilled: return "killed";
    case WaitKind::kSignalStop: return "signal-delivery-stop";
    case WaitKind::kGroupStop: return "group-stop";
    case WaitKind::kInterruptStop: return "interrupt-stop";
    case WaitKind::kEventStop: return "event-stop";
    case WaitKind::kSyscallStop: return "syscall-stop";
    case WaitKind::kContinued: return "continued";
    case WaitKind::kUnknown: break;
  }
  return "unknown";
}

std::string signal_name(int sig) {
  if (sig >= SIGRTMIN && sig <= SIGRTMAX)
    return sig == SIGRTMIN ? "SIGRTMIN" : fmt::format("SIGRTMIN+{}", sig - SIGRTMIN);
  if (const char* abbrev = sigabbrev_np(sig)) return fmt::format("SIG{}", abbrev);
  return fmt::format("signal {}", sig);
}

std::string WaitStatus::describe() const {
  switch (kind) {
    case WaitKind::kExited:
      return fmt::format("exited {}", exit_code);
    case WaitKind::kKilled:
      return fmt::format("killed by {}{}", signal_name(signal),
                         core_dumped ? " (core dumped)" : "");
    case WaitKind::kEventStop:
      return fmt::format("event-stop {} ({})", event, signal_name(signal));
    case WaitKind::kSignalStop:
    case WaitKind::kGroupStop:
    case WaitKind::kInterruptStop:
      return fmt::format("{} {}", kind_name(kind), signal_name(signal));
    default:
      return fmt::format("{} (raw {:#x})", kind_name(kind), raw);
  }
}

}  // namespace pyattach::attach
