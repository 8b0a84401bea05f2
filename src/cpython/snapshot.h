// Plain data captured while the target is stopped; render/ formats it after
// the target runs again. Nothing here points into the target.
#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/native_frame.h"
#include "core/remote_ptr.h"
#include "cpython/version.h"

namespace pyattach::cpython {

// One Python-level frame.
struct PyFrameSnapshot {
  RemoteAddr address;  // PyFrameObject (<=3.10) or _PyInterpreterFrame (3.11+)
  RemoteAddr code;
  bool readable = true;  // false: render "(unable to read python frame information)"
  std::string filename;
  std::string name;      // co_name, as py-bt prints it
  std::string qualname;  // co_qualname (3.11+), else co_name
  std::optional<int> line;
};

// How Python frames were placed on C frames.
enum class FrameMapping {
  kNone,       // no Python frames, or no eval frames found
  kByAddress,  // each segment's _PyCFrame / entry shim lies in one C frame's stack
  kByOrder,    // counted eval C frames against Python frames (<=3.10, or fallback)
};

// A native frame, symbolised, with what Python runs in it.
// The C name of a symbol, as python-gdb.py sees it through gdb's DWARF
// name: GCC names the copies it makes with a suffix after a dot (Debian's LTO
// build: "take_gil.lto_priv.0"; also .constprop.N, .isra.N, .part.N, .cold),
// which no C identifier contains, and a .symtab may carry a symbol version
// ("clock_nanosleep@@GLIBC_2.17"). Every comparison of a frame's symbol with
// a C function name goes through this.
inline std::string_view c_function_name(std::string_view symbol) {
  return symbol.substr(0, symbol.find_first_of(".@"));
}

struct NativeFrameSnapshot {
  NativeFrame frame;
  std::string symbol;       // function name; empty if unknown
  std::uint64_t symbol_offset = 0;
  std::string module;       // mapped file path; empty if none
  bool is_eval = false;     // a _PyEval_EvalFrameDefault C frame
  std::vector<std::size_t> python_frames;  // indices into ThreadSnapshot::python
  // python-gdb.py's "other python frame" line, without indentation:
  // "<built-in method sleep of module object at remote 0x...>",
  // "Waiting for the GIL", "Garbage-collecting". Empty if none.
  std::string other_python_info;
  // The PyCFunctionObject behind a "<built-in method ...>" line; null if none.
  RemoteAddr cfunction;
};

// The registers of a stopped thread that the thread-state logic needs:
// where it is (rip, rsp) and, when it sits in a system call, which one
// (orig_rax), its result so far (rax: -ERESTARTSYS etc. when interrupted)
// and its arguments (x86-64 syscall ABI order).
struct ThreadRegisters {
  std::uint64_t rip = 0, rsp = 0;
  std::uint64_t rax = 0;
  std::int64_t orig_rax = -1;  // -1: not in a system call
  std::uint64_t rdi = 0, rsi = 0, rdx = 0, r10 = 0, r8 = 0, r9 = 0;
  std::array<std::uint64_t, 6> syscall_args() const { return {rdi, rsi, rdx, r10, r8, r9}; }
};

// The thread's relation to the GIL (of its interpreter).
enum class GilRelation {
  kUnknown,     // could not be read or proven
  kHolds,       // the GIL is locked and this thread is its last holder
  kWaiting,     // in take_gil (named frame, or proven on stripped builds)
  kDropping,    // in drop_gil
  kNotHolding,  // the GIL is free or held by another thread
};

// The system call a stopped thread is in.
struct SyscallInfo {
  std::int64_t number = -1;
  std::string name;  // "read"; "syscall_N" when the number is unknown
  std::array<std::uint64_t, 6> args{};
  // The thread was stopped before (by us or a debugger) inside this call, and
  // the kernel resumed it as restart_syscall: number and name are those of
  // the original call as its libc wrapper frame names it; the argument
  // registers still hold its arguments.
  bool restarted = false;
  // "read(fd=7 -> socket:[12345])", "futex(0x7f..., FUTEX_WAIT_BITSET_PRIVATE)"
  std::string description;
};

// What a thread is doing, most specific first: a thread holding the GIL
// while blocked in a system call is kHoldsGil; one in futex under
// lock_PyThread_acquire_lock is kBlockedOnLock, not kInSyscall.
enum class ThreadActivity {
  kUnknown,
  kHoldsGil,         // holds the GIL while in native code (blocking everyone else)
  kWaitingForGil,
  kDroppingGil,
  kBlockedOnLock,    // acquiring a _thread.lock / RLock
  kSleeping,         // time.sleep
  kInSyscall,        // another system call (see ThreadSnapshot::syscall)
  kRunningPython,    // runs bytecode (not in a system call)
  kRunningNative,    // a Python thread in native code, not in a system call
  kIdle,             // not a Python thread (no PyThreadState)
};

struct ThreadSnapshot {
  pid_t tid = 0;
  std::uint64_t pthread_id = 0;  // fs_base: what gdb prints as "Thread 0x..."
  std::string comm;              // /proc/PID/task/TID/comm
  std::string python_name;       // threading.Thread name; empty if none
  ThreadRegisters regs;
  GilRelation gil = GilRelation::kUnknown;
  std::optional<SyscallInfo> syscall;
  ThreadActivity activity = ThreadActivity::kUnknown;
  RemoteAddr tstate;             // null if the thread has no PyThreadState
  std::vector<PyFrameSnapshot> python;  // innermost first
  std::vector<NativeFrameSnapshot> native;  // innermost first
  FrameMapping mapping = FrameMapping::kNone;
  std::vector<std::string> warnings;  // e.g. "unwinding stopped at frame #12: ..."
};

struct ProcessSnapshot {
  pid_t pid = 0;
  PythonVersion version;
  std::string interpreter_path;  // the module holding the interpreter
  std::vector<ThreadSnapshot> threads;  // main thread first
};

}  // namespace pyattach::cpython
