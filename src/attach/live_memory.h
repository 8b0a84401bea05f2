// RemoteMemory over a live process.
#pragma once

#include <sys/types.h>

#include "core/remote_memory.h"

namespace pyattach::attach {

// Reads with process_vm_readv, falling back to /proc/PID/mem (for example where
// a seccomp policy forbids the syscall). PYATTACH_NO_PROCESS_VM_READV=1 forces the
// fallback, so tests can run both paths. Never writes.
//
// read() fails with kBadRemoteAddress (errno kept) on any unreadable byte, on
// ranges that wrap or reach the kernel half, on lengths over 64 MiB, and when
// the process is gone (ESRCH). The target need not be stopped, but reads of a
// running target may be torn. Not thread-safe (counters, lazy fd).
class LiveMemory final : public RemoteMemory {
 public:
  explicit LiveMemory(pid_t pid);
  ~LiveMemory() override;
  LiveMemory(const LiveMemory&) = delete;
  LiveMemory& operator=(const LiveMemory&) = delete;

  Result<void> read(RemoteAddr addr, std::span<std::byte> dst) const override;
  // Up to IOV_MAX requests per process_vm_readv; a request the kernel stops
  // at is retried alone with read(), then the batch goes on after it.
  void read_many(std::span<ReadRequest> requests) const override;

  // process_vm_readv / pread calls made (for --stats).
  std::uint64_t syscalls() const { return syscalls_; }

  // Counters for --stats: read() calls (including failed ones), and bytes
  // delivered by successful reads.
  std::uint64_t reads() const { return reads_; }
  std::uint64_t bytes_read() const { return bytes_; }

 private:
  pid_t pid_;
  mutable bool use_vm_readv_;  // cleared for good when the syscall is refused
  mutable int mem_fd_ = -1;
  mutable std::uint64_t reads_ = 0, bytes_ = 0, syscalls_ = 0;
};

}  // namespace pyattach::attach
