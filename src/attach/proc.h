// Small readers of /proc/PID files. None of them need the process stopped.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "core/proc_maps.h"
#include "core/result.h"

namespace pyattach::attach {

struct ProcStatus {
  std::string name;        // Name:
  char state = '?';        // first letter of State: (R, S, D, T, t, Z, ...)
  pid_t tracer_pid = 0;    // TracerPid:
  std::vector<pid_t> ns_pids;  // NSpid: outermost namespace first
};

// Fails with kNoSuchProcess when /proc/PID does not exist.
Result<ProcStatus> read_status(pid_t pid);
// /proc/PID/task/TID/comm without the newline; empty if unreadable.
std::string read_thread_name(pid_t pid, pid_t tid);
// Thread ids in /proc/PID/task order.
Result<std::vector<pid_t>> list_threads(pid_t pid);
Result<std::vector<MemoryMapping>> read_maps(pid_t pid);
// "/proc/PID/root" + path: how we open files the target sees at `path`, so that
// a process in another mount namespace (a container) works without setns.
std::string target_path(pid_t pid, const std::string& path);
// /proc/sys/kernel/yama/ptrace_scope, if present.
std::optional<int> ptrace_scope();

}  // namespace pyattach::attach
