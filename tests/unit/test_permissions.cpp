#include <doctest/doctest.h>
#include <unistd.h>

#include <array>
#include <string>
#include <string_view>

#include "attach/permissions.h"

using namespace pyattach;
using namespace pyattach::attach;

namespace {

// A python3.12 process 4242 of user app (uid 1000), dumpable, untraced.
PermissionFacts facts() {
  PermissionFacts f;
  f.pid = 4242;
  f.comm = "python3.12";
  f.target_uids = {1000, 1000, 1000, 1000};
  f.target_user = "app";
  f.proc_owner = 1000;
  f.our_uid = 1000;
  f.our_user = "app";
  return f;
}

}  // namespace

TEST_CASE("explain_permission_denied names the cause and the fix") {
  struct Case {
    const char* name;
    PermissionFacts facts;
    ErrorCode code;
    std::string_view message;
    std::string_view hint;  // a part of it
  };
  auto with = [](auto change) {
    PermissionFacts f = facts();
    change(f);
    return f;
  };
  const std::array cases = {
      Case{"another tracer", with([](auto& f) {
             f.tracer_pid = 77;
             f.tracer_comm = "gdb";
           }),
           ErrorCode::kAlreadyTraced,
           "process 4242 (python3.12) is already traced by process 77 (gdb)",
           "detach the other tracer"},
      Case{"another user's process", with([](auto& f) {
             f.our_uid = 1001;
             f.our_user = "bob";
           }),
           ErrorCode::kPermissionDenied,
           "permission denied to trace process 4242 (python3.12): it runs as user app "
           "(uid 1000), "
           "pyattach as user bob (uid 1001)",
           "run pyattach as app (`sudo -u app pyattach ...`), or as root with "
           "CAP_SYS_PTRACE "
           "(in Docker: `docker run --cap-add=SYS_PTRACE`)"},
      Case{"a user without a name", with([](auto& f) {
             f.our_uid = 1001;
             f.our_user = "";
             f.target_user = "";
           }),
           ErrorCode::kPermissionDenied,
           "permission denied to trace process 4242 (python3.12): it runs as uid 1000, "
           "pyattach as uid 1001",
           "run pyattach as uid 1000, or as root with CAP_SYS_PTRACE"},
      Case{"a root process, pyattach not root", with([](auto& f) {
             f.target_uids = {0, 0, 0, 0};
             f.target_user = "root";
             f.proc_owner = 0;
           }),
           ErrorCode::kPermissionDenied,
           "permission denied to trace process 4242 (python3.12): it runs as user root "
           "(uid 0), "
           "pyattach as user app (uid 1000)",
           "run pyattach as root (`sudo pyattach ...`)"},
      Case{"root without CAP_SYS_PTRACE (a Docker container)", with([](auto& f) {
             f.our_uid = 0;
             f.our_user = "root";
           }),
           ErrorCode::kPermissionDenied,
           "permission denied to trace process 4242 (python3.12): it runs as user app "
           "(uid 1000); "
           "pyattach runs as root without CAP_SYS_PTRACE",
           "docker run --cap-add=SYS_PTRACE"},
      Case{"a setuid process: saved uid differs", with([](auto& f) {
             f.target_uids = {1000, 1000, 0, 1000};
           }),
           ErrorCode::kPermissionDenied,
           "permission denied to trace process 4242 (python3.12): it runs as user app "
           "(uid 1000, "
           "real/effective/saved uids 1000/1000/0), pyattach as user app (uid 1000)",
           "CAP_SYS_PTRACE"},
      Case{"not dumpable", with([](auto& f) { f.proc_owner = 0; }),
           ErrorCode::kPermissionDenied,
           "permission denied to trace process 4242 (python3.12): it is not dumpable (a "
           "setuid/setgid "
           "program, or prctl(PR_SET_DUMPABLE, 0)), so only CAP_SYS_PTRACE may trace it",
           "run pyattach as root with CAP_SYS_PTRACE"},
      Case{"Yama 1", with([](auto& f) { f.ptrace_scope = 1; }),
           ErrorCode::kPermissionDenied,
           "permission denied to trace process 4242 (python3.12): "
           "/proc/sys/kernel/yama/ptrace_scope is 1 "
           "(only a process's ancestors may trace it)",
           "`sudo sysctl kernel.yama.ptrace_scope=0`"},
      Case{"Yama 2", with([](auto& f) { f.ptrace_scope = 2; }),
           ErrorCode::kPermissionDenied,
           "permission denied to trace process 4242 (python3.12): "
           "/proc/sys/kernel/yama/ptrace_scope is 2 "
           "(only CAP_SYS_PTRACE may trace)",
           "CAP_SYS_PTRACE"},
      Case{"Yama 3, even with CAP_SYS_PTRACE", with([](auto& f) {
             f.ptrace_scope = 3;
             f.we_have_cap_sys_ptrace = true;
           }),
           ErrorCode::kPermissionDenied,
           "permission denied to trace process 4242 (python3.12): "
           "/proc/sys/kernel/yama/ptrace_scope is 3 "
           "(no process may be traced)",
           "until the next reboot"},
      Case{"Yama 0: neither user nor Yama", with([](auto& f) { f.ptrace_scope = 0; }),
           ErrorCode::kPermissionDenied,
           "permission denied to trace process 4242 (python3.12): the kernel refused "
           "(not for user ids or "
           "Yama: seccomp, an LSM such as AppArmor or SELinux, or a container)",
           "--cap-add=SYS_PTRACE"},
      Case{"no Yama, CAP_SYS_PTRACE, another user: not the uids", with([](auto& f) {
             f.our_uid = 0;
             f.we_have_cap_sys_ptrace = true;
           }),
           ErrorCode::kPermissionDenied,
           "permission denied to trace process 4242 (python3.12): the kernel refused "
           "(not for user ids or "
           "Yama: seccomp, an LSM such as AppArmor or SELinux, or a container)",
           "audit log"},
  };
  for (const auto& c : cases) {
    SUBCASE(c.name) {
      const Error e = explain_permission_denied(c.facts);
      CHECK(e.code == c.code);
      CHECK(e.message == c.message);
      CHECK(e.hint.find(c.hint) != std::string::npos);
      CHECK(e.message.find('\n') == std::string::npos);
      CHECK(e.hint.find('\n') == std::string::npos);
    }
  }
}

TEST_CASE("permission_denied on our own process finds nothing to blame but says so") {
  // Our own process: same user, not traced, dumpable, so the explanation is
  // the catch-all one (or Yama's on a machine with ptrace_scope >= 1).
  const Error e = permission_denied(::getpid());
  CHECK(e.code == ErrorCode::kPermissionDenied);
  CHECK(e.message.find("permission denied to trace process " +
                       std::to_string(::getpid())) == 0);
  CHECK(!e.hint.empty());
}
