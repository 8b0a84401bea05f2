#include "attach/permissions.h"

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <vector>

#include "attach/proc.h"
#include "attach/proc_file.h"

namespace pyattach::attach {
namespace {

constexpr int kCapSysPtrace = 19;  // linux/capability.h
constexpr const char* kCapHint =
    "as root with CAP_SYS_PTRACE (in Docker: `docker run --cap-add=SYS_PTRACE`)";

std::string user_label(uid_t uid, const std::string& name) {
  return name.empty() ? "uid " + std::to_string(uid)
                      : "user " + name + " (uid " + std::to_string(uid) + ")";
}

std::string user_name(uid_t uid) {
  std::vector<char> buf(16384);
  passwd pw{};
  passwd* found = nullptr;
  if (::getpwuid_r(uid, &pw, buf.data(), buf.size(), &found) != 0 || found == nullptr)
    return {};
  return found->pw_name;
}

// A /proc status file read without turning EACCES into another permission
// diagnosis (pid 0: no recursion through proc_errno_error).
std::optional<ProcStatus> status_of(const std::string& path) {
  auto text = read_proc_file(path, 1 << 20, 0);
  if (!text) return std::nullopt;
  auto status = parse_status(*text);
  if (!status) return std::nullopt;
  return *status;
}

}  // namespace

Error explain_permission_denied(const PermissionFacts& f) {
  const std::string target =
      "process " + std::to_string(f.pid) + " (" + (f.comm.empty() ? "?" : f.comm) + ")";
  auto denied = [&](std::string why, std::string hint) {
    return Error{ErrorCode::kPermissionDenied,
                 "permission denied to trace " + target + ": " + why, EPERM,
                 std::move(hint)};
  };
  if (f.tracer_pid != 0)
    return Error{ErrorCode::kAlreadyTraced,
                 target + " is already traced by process " +
                     std::to_string(f.tracer_pid) + " (" +
                     (f.tracer_comm.empty() ? "?" : f.tracer_comm) + ")",
                 EPERM, "detach the other tracer (quit gdb, stop strace) and try again"};

  if (!f.we_have_cap_sys_ptrace) {
    // The kernel wants the target's real, effective and saved uids all equal
    // to ours.
    const std::size_t checked = std::min<std::size_t>(f.target_uids.size(), 3);
    const bool other_user =
        std::any_of(f.target_uids.begin(), f.target_uids.begin() + checked,
                    [&](uid_t u) { return u != f.our_uid; });
    if (other_user) {
      const uid_t theirs = f.target_uids.size() > 1 ? f.target_uids[1] : f.target_uids[0];
      std::string ids = "uid " + std::to_string(theirs);
      if (checked == 3 && (f.target_uids[0] != theirs || f.target_uids[2] != theirs))
        ids += ", real/effective/saved uids " + std::to_string(f.target_uids[0]) + "/" +
               std::to_string(f.target_uids[1]) + "/" + std::to_string(f.target_uids[2]);
      const std::string them =
          f.target_user.empty() ? ids : "user " + f.target_user + " (" + ids + ")";
      const std::string as_them =
          theirs == 0 ? "as root (`sudo pyattach ...`)"
          : f.target_user.empty()
              ? "as " + them
              : "as " + f.target_user + " (`sudo -u " + f.target_user + " pyattach ...`)";
      if (theirs == 0 && f.our_uid != 0)
        return denied(
            "it runs as " + them + ", pyattach as " + user_label(f.our_uid, f.our_user),
            "run pyattach " + as_them);
      if (f.our_uid == 0)
        return denied(
            "it runs as " + them + "; pyattach runs as root without CAP_SYS_PTRACE",
            "grant CAP_SYS_PTRACE (in Docker: `docker run --cap-add=SYS_PTRACE`), "
            "or run pyattach " +
                as_them);
      return denied(
          "it runs as " + them + ", pyattach as " + user_label(f.our_uid, f.our_user),
          "run pyattach " + as_them + ", or " + kCapHint);
    }
    if (f.proc_owner && f.target_uids.size() > 1 && *f.proc_owner != f.target_uids[1])
      return denied(
          "it is not dumpable (a setuid/setgid program, or prctl(PR_SET_DUMPABLE, 0)), "
          "so only CAP_SYS_PTRACE may trace it",
          std::string("run pyattach ") + kCapHint);
  }

  if (f.ptrace_scope) {
    const std::string scope =
        "/proc/sys/kernel/yama/ptrace_scope is " + std::to_string(*f.ptrace_scope);
    if (*f.ptrace_scope >= 3)
      return denied(scope + " (no process may be traced)",
                    "the setting cannot be lowered until the next reboot; set "
                    "kernel.yama.ptrace_scope=0 in /etc/sysctl.d and reboot");
    if (*f.ptrace_scope == 2 && !f.we_have_cap_sys_ptrace)
      return denied(scope + " (only CAP_SYS_PTRACE may trace)",
                    std::string("run pyattach ") + kCapHint +
                        ", or `sudo sysctl kernel.yama.ptrace_scope=0`");
    if (*f.ptrace_scope == 1 && !f.we_have_cap_sys_ptrace)
      return denied(scope + " (only a process's ancestors may trace it)",
                    "`sudo sysctl kernel.yama.ptrace_scope=0`, or run pyattach " +
                        std::string(kCapHint));
  }
  return denied(
      "the kernel refused (not for user ids or Yama: seccomp, an LSM such as "
      "AppArmor or SELinux, or a container)",
      "in Docker, `docker run --cap-add=SYS_PTRACE` (it also lets ptrace through "
      "the default seccomp profile); elsewhere look for a denial in the audit log");
}

Error permission_denied(pid_t pid) {
  PermissionFacts f;
  f.pid = pid;
  f.our_uid = ::getuid();
  f.our_user = user_name(f.our_uid);
  f.ptrace_scope = ptrace_scope();
  if (auto self = status_of("/proc/self/status"); self && self->cap_effective)
    f.we_have_cap_sys_ptrace = (*self->cap_effective >> kCapSysPtrace) & 1;
  const std::string dir = "/proc/" + std::to_string(pid);
  if (auto st = status_of(dir + "/status")) {
    f.comm = st->name;
    f.target_uids = st->uids;
    f.tracer_pid = st->tracer_pid;
    if (f.target_uids.size() > 1) f.target_user = user_name(f.target_uids[1]);
    if (f.tracer_pid != 0)
      if (auto tracer = status_of("/proc/" + std::to_string(f.tracer_pid) + "/status"))
        f.tracer_comm = tracer->name;
  }
  struct stat owner {};
  if (::stat(dir.c_str(), &owner) == 0) f.proc_owner = owner.st_uid;
  return explain_permission_denied(f);
}

}  // namespace pyattach::attach
