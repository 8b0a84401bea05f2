// Why the kernel refused to let pyattach trace a process (PTRACE_SEIZE, or
// reading /proc/PID/maps or /proc/PID/mem, which need the same access), told
// as one error line naming the cause and one hint line naming the fix.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "core/result.h"

namespace pyattach::attach {

// What the kernel's ptrace access check looks at (kernel/ptrace.c
// __ptrace_may_access, then Yama), as far as /proc shows it.
struct PermissionFacts {
  pid_t pid = 0;
  std::string comm;  // the target's name ("?" if unknown)
  std::vector<uid_t>
      target_uids;          // its Uid: line (real, effective, saved, fs); may be empty
  std::string target_user;  // user name of its effective uid; empty if unknown
  // Owner of /proc/PID: root rather than the target's effective uid when the
  // target is not dumpable (setuid, or prctl(PR_SET_DUMPABLE, 0)).
  std::optional<uid_t> proc_owner;
  pid_t tracer_pid = 0;  // TracerPid:
  std::string tracer_comm;
  uid_t our_uid = 0;
  std::string our_user;
  bool we_have_cap_sys_ptrace = false;
  std::optional<int>
      ptrace_scope;  // /proc/sys/kernel/yama/ptrace_scope; nullopt without Yama
};

// Pure: the error for these facts. Checked in the kernel's order: another
// tracer (kAlreadyTraced), then (without CAP_SYS_PTRACE) a target of another
// user, a target that is not dumpable, then Yama's ptrace_scope, then
// whatever is left (seccomp, an LSM, a container). Everything else is
// kPermissionDenied.
Error explain_permission_denied(const PermissionFacts& facts);

// Gathers the facts about `pid` (/proc/PID/status, /proc/self/status, the
// owner of /proc/PID, Yama, user names) and explains them. Never fails: what
// cannot be read is left out of the explanation.
Error permission_denied(pid_t pid);

}  // namespace pyattach::attach
