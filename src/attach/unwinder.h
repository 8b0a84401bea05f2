// Native stack unwinding of a stopped thread with libunwind's ptrace flavour.
#pragma once

#include <sys/types.h>
#include <sys/user.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "core/native_frame.h"
#include "core/remote_memory.h"
#include "core/result.h"

namespace pyattach::attach {

struct UnwindOptions {
  std::size_t max_frames = 1024;
};

// Where one mapped module keeps its unwind table in the target: the runtime
// span [start, end) of its PT_LOAD segments and the runtime address of its
// .eh_frame_hdr (PT_GNU_EH_FRAME). From the module's ELF file, opened the way
// the target sees it (/proc/PID/root), so containers need no host path.
struct UnwindTableLocation {
  std::uint64_t start = 0, end = 0;
  std::uint64_t eh_frame_hdr = 0;
};

// Unwinds one thread from its saved registers. Registers of frame #0 come from
// `regs` (no PTRACE_PEEKUSER), memory through `memory`. Unwind tables: the
// .eh_frame_hdr search table of the module in `tables` that covers the IP,
// read (with .eh_frame) from target memory: no file is opened while the
// target is stopped. For an IP outside them, libunwind's _UPT_find_proc_info
// (which maps the file named in /proc/PID/maps: through /proc/PID/root from
// libunwind 1.6, by its host path before, so then only when the target
// shares pyattach's root directory). Without `tables`, _UPT_find_proc_info
// alone.
// Stops at max_frames, at a zero IP, or when the stack pointer stops growing
// (a loop in corrupt stacks). Frame #0 is the innermost. cfa of the outermost
// frame is 0 when unknown.
// The thread need not be stopped: unwinding reads only `memory` (a snapshot of
// the stacks, for a short pause) and the mapped files (one UPT handle per
// process, so a thread that has exited since unwinds too).
//
// Frames: ip is UNW_REG_IP (a return address above #0), sp is UNW_REG_SP, cfa
// is the next (caller) frame's sp; callee_saved holds what unw_get_reg
// recovers (nullopt where it cannot); function_start is unw_get_proc_info's
// start_ip. sp strictly increases from frame to
// frame, except across a signal frame (a handler on a sigaltstack).
// Table lookups and stack reads go through `memory`, so a snapshot must
// contain .eh_frame_hdr/.eh_frame as well as the stacks.
//
// Caching: unwind info is cached per Unwinder (UNW_CACHE_GLOBAL).
// Call flush_cache() after the target has run (modules may have been loaded
// or unloaded) before unwinding it again. Not thread-safe; one unwind at a
// time per Unwinder.
class Unwinder {
 public:
  explicit Unwinder(pid_t pid, std::vector<UnwindTableLocation> tables = {});
  ~Unwinder();
  Unwinder(const Unwinder&) = delete;
  Unwinder& operator=(const Unwinder&) = delete;

  // Fails (kInternal) only when libunwind cannot start; a stack that cannot
  // be walked far yields fewer frames (at least frame #0 when regs.rip != 0).
  Result<std::vector<NativeFrame>> unwind(pid_t tid, const user_regs_struct& regs,
                                          const RemoteMemory& memory,
                                          const UnwindOptions& options = {});

  // Drops cached unwind info and per-thread handles.
  void flush_cache();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pyattach::attach
