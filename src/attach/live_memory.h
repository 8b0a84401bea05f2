// RemoteMemory over a live process.
#pragma once

#include <sys/types.h>

#include "core/remote_memory.h"

namespace pyattach::attach {

// Reads with process_vm_readv, falling back to /proc/PID/mem (for example where
// a seccomp policy forbids the syscall). PYATTACH_NO_PROCESS_VM_READV=1 forces the
// fallback, so tests can run both paths. Never writes.
class LiveMemory final : public RemoteMemory {
 public:
  explicit LiveMemory(pid_t pid);
  ~LiveMemory() override;
  LiveMemory(const LiveMemory&) = delete;
  LiveMemory& operator=(const LiveMemory&) = delete;

  Result<void> read(RemoteAddr addr, std::span<std::byte> dst) const override;

  // Counters for --stats.
  std::uint64_t reads() const { return reads_; }
  std::uint64_t bytes_read() const { return bytes_; }

 private:
  pid_t pid_;
  bool use_vm_readv_;
  mutable int mem_fd_ = -1;
  mutable std::uint64_t reads_ = 0, bytes_ = 0;
};

}  // namespace pyattach::attach
