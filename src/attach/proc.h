// Small readers of /proc/PID files. None of them need the process stopped.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/proc_maps.h"
#include "core/result.h"

namespace pyattach::attach {

struct ProcStatus {
  std::string name;        // Name:
  char state = '?';        // first letter of State: (R, S, D, T, t, Z, ...)
  pid_t tgid = 0;          // Tgid: the process a thread belongs to; 0 if absent
  pid_t tracer_pid = 0;    // TracerPid:
  std::vector<pid_t> ns_pids;  // NSpid: outermost namespace first
  std::vector<uid_t> uids;     // Uid: real, effective, saved, filesystem
  std::optional<std::uint64_t> cap_effective;  // CapEff: (hex bit mask)
};

// Fails with kNoSuchProcess when /proc/PID does not exist, kPermissionDenied
// when it cannot be read.
Result<ProcStatus> read_status(pid_t pid);
// The same for one thread: /proc/PID/task/TID/status. TracerPid and State are
// per thread (a tracer may hold only some threads).
Result<ProcStatus> read_thread_status(pid_t pid, pid_t tid);
// Parses the text of a /proc/PID/status file (pure; for tests). Unknown lines
// are ignored. Fails with kCorruptData when Name: or State: is missing, or
// when Tgid:/TracerPid:/NSpid:/Uid:/CapEff: are not numbers.
Result<ProcStatus> parse_status(std::string_view text);
// /proc/PID/task/TID/comm without the newline; empty if unreadable.
std::string read_thread_name(pid_t pid, pid_t tid);
// What fd `fd` of process `pid` points to: readlink of /proc/PID/fd/FD
// ("socket:[12345]", "pipe:[678]", "/var/log/app.log", "anon_inode:[eventpoll]");
// nullopt if it is closed or unreadable. At most 4096 bytes.
std::optional<std::string> read_fd_target(pid_t pid, int fd);
// Thread ids of /proc/PID/task: pid itself first (if it is still listed),
// then the others in ascending numeric order. Fails with kNoSuchProcess when
// /proc/PID does not exist. Bounded (at most 1<<20 entries).
Result<std::vector<pid_t>> list_threads(pid_t pid);
// Fails with kNoSuchProcess, kPermissionDenied, or kCorruptData (bad line).
Result<std::vector<MemoryMapping>> read_maps(pid_t pid);
// "/proc/PID/root" + path: how we open files the target sees at `path`, so that
// a process in another mount namespace (a container) works without setns.
std::string target_path(pid_t pid, const std::string& path);
// /proc/sys/kernel/yama/ptrace_scope, if present (nullopt without Yama).
std::optional<int> ptrace_scope();

}  // namespace pyattach::attach
