#include <doctest/doctest.h>

#include <array>
#include <csignal>
#include <string_view>

#include "attach/wait_status.h"

using namespace pyattach::attach;

namespace {

// Raw statuses as the kernel encodes them (see wait(2) and ptrace(2)).
constexpr int exited(int code) { return code << 8; }
constexpr int stopped(int sig, int event = 0) { return (event << 16) | (sig << 8) | 0x7f; }

}  // namespace

TEST_CASE("WaitStatus::decode names every kind") {
  struct Case {
    const char* name;
    int raw;
    WaitKind kind;
    int signal;
    int event;
    int exit_code;
    std::string_view text;
  };
  const std::array cases = {
      Case{"exit 0", exited(0), WaitKind::kExited, 0, 0, 0, "exited 0"},
      Case{"exit 3", exited(3), WaitKind::kExited, 0, 0, 3, "exited 3"},
      Case{"killed", SIGKILL, WaitKind::kKilled, SIGKILL, 0, 0, "killed by SIGKILL"},
      Case{"core", SIGSEGV | 0x80, WaitKind::kKilled, SIGSEGV, 0, 0,
           "killed by SIGSEGV (core dumped)"},
      Case{"continued", 0xffff, WaitKind::kContinued, 0, 0, 0, "continued (raw 0xffff)"},
      Case{"signal stop", stopped(SIGUSR1), WaitKind::kSignalStop, SIGUSR1, 0, 0,
           "signal-delivery-stop SIGUSR1"},
      Case{"legacy SIGSTOP is a signal stop", stopped(SIGSTOP), WaitKind::kSignalStop,
           SIGSTOP, 0, 0, "signal-delivery-stop SIGSTOP"},
      Case{"group stop", stopped(SIGSTOP, kPtraceEventStop), WaitKind::kGroupStop, SIGSTOP,
           kPtraceEventStop, 0, "group-stop SIGSTOP"},
      Case{"group stop tstp", stopped(SIGTSTP, kPtraceEventStop), WaitKind::kGroupStop,
           SIGTSTP, kPtraceEventStop, 0, "group-stop SIGTSTP"},
      Case{"interrupt", stopped(SIGTRAP, kPtraceEventStop), WaitKind::kInterruptStop,
           SIGTRAP, kPtraceEventStop, 0, "interrupt-stop SIGTRAP"},
      Case{"clone event", stopped(SIGTRAP, 3), WaitKind::kEventStop, SIGTRAP, 3, 0,
           "event-stop 3 (SIGTRAP)"},
      Case{"syscall", stopped(SIGTRAP | 0x80), WaitKind::kSyscallStop, SIGTRAP | 0x80, 0,
           0, "syscall-stop (raw 0x857f)"},
  };
  for (const auto& c : cases) {
    SUBCASE(c.name) {
      WaitStatus ws = WaitStatus::decode(c.raw);
      CHECK(ws.kind == c.kind);
      CHECK(ws.raw == c.raw);
      CHECK(ws.signal == c.signal);
      CHECK(ws.event == c.event);
      CHECK(ws.exit_code == c.exit_code);
      CHECK(ws.describe() == c.text);
    }
  }
}

TEST_CASE("WaitStatus stopped/gone predicates") {
  CHECK(WaitStatus::decode(stopped(SIGTRAP, kPtraceEventStop)).is_stopped());
  CHECK(WaitStatus::decode(stopped(SIGUSR2)).is_stopped());
  CHECK_FALSE(WaitStatus::decode(stopped(SIGUSR2)).is_gone());
  CHECK(WaitStatus::decode(exited(1)).is_gone());
  CHECK(WaitStatus::decode(SIGTERM).is_gone());
  CHECK_FALSE(WaitStatus::decode(0xffff).is_stopped());
  CHECK_FALSE(WaitStatus::decode(0xffff).is_gone());
}

TEST_CASE("signal_name") {
  CHECK(signal_name(SIGUSR1) == "SIGUSR1");
  CHECK(signal_name(SIGRTMIN) == "SIGRTMIN");
  CHECK(signal_name(SIGRTMIN + 1) == "SIGRTMIN+1");
  CHECK(signal_name(99) == "signal 99");
}
