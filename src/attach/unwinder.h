// Native stack unwinding of a stopped thread with libunwind's ptrace flavour.
#pragma once

#include <sys/types.h>
#include <sys/user.h>

#include <vector>

#include "core/native_frame.h"
#include "core/remote_memory.h"
#include "core/result.h"

namespace pyattach::attach {

struct UnwindOptions {
  std::size_t max_frames = 1024;
};

// Unwinds one thread from its saved registers. Registers of frame #0 come from
// `regs` (no PTRACE_PEEKUSER), memory through `memory`, unwind tables through
// libunwind's _UPT_find_proc_info (.eh_frame/.debug_frame of the mapped files).
// Stops at max_frames, at a zero IP, or when the stack pointer stops growing
// (a loop in corrupt stacks). Frame #0 is the innermost. cfa of the outermost
// frame is 0 when unknown.
// The thread must be ptrace-stopped by the caller (libunwind's proc-info lookup
// needs the UPT handle of that tid).
class Unwinder {
 public:
  explicit Unwinder(pid_t pid);
  ~Unwinder();
  Unwinder(const Unwinder&) = delete;
  Unwinder& operator=(const Unwinder&) = delete;

  Result<std::vector<NativeFrame>> unwind(pid_t tid, const user_regs_struct& regs,
                                          const RemoteMemory& memory,
                                          const UnwindOptions& options = {});

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pyattach::attach
