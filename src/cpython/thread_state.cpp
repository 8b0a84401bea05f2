#include "cpython/thread_state.h"

#include <algorithm>
#include <array>

#include "core/syscalls.h"

namespace pyattach::cpython {
namespace {

// From the kernel headers' table (core/syscalls.h), which is constant-
// initialised; -2, no call's number, if the table lacks one.
const std::int64_t kSysFutex = syscall_number("futex").value_or(-2);
const std::int64_t kSysSelect = syscall_number("select").value_or(-2);
const std::int64_t kSysPselect6 = syscall_number("pselect6").value_or(-2);  // glibc's select()
const std::int64_t kSysClockNanosleep = syscall_number("clock_nanosleep").value_or(-2);

bool has_frame_named(const ThreadSnapshot& t, std::initializer_list<std::string_view> names) {
  return std::any_of(t.native.begin(), t.native.end(), [&](const NativeFrameSnapshot& f) {
    return std::find(names.begin(), names.end(), c_function_name(f.symbol)) != names.end();
  });
}

bool is_c_library(std::string_view module) {
  auto slash = module.rfind('/');
  std::string_view base = slash == std::string_view::npos ? module : module.substr(slash + 1);
  return base.starts_with("libc.so") || base.starts_with("libc-") ||
         base.starts_with("libpthread");
}

// The libc function a thread waits in when that libc code was called
// directly by the interpreter: the innermost non-libc frame must be in the
// interpreter module. Returns the outermost libc frame's name (the function
// the interpreter called, e.g. "sem_clockwait"), or empty.
std::string_view libc_entry_called_by_interpreter(const ThreadSnapshot& t,
                                                  std::string_view interpreter_path) {
  std::string_view entry;
  for (const auto& f : t.native) {
    if (is_c_library(f.module)) {
      entry = c_function_name(f.symbol);
      continue;
    }
    return !entry.empty() && f.module == interpreter_path ? entry : std::string_view();
  }
  return {};
}

bool python_calls(const ThreadSnapshot& t, std::initializer_list<std::string_view> prefixes) {
  // The innermost line python-gdb.py shows for a C function called from Python.
  for (const auto& f : t.native) {
    if (!f.python_frames.empty()) return false;  // reached Python code first
    if (f.other_python_info.empty()) continue;
    for (auto p : prefixes)
      if (f.other_python_info.starts_with(p)) return true;
    return false;
  }
  return false;
}

GilRelation gil_relation(const ThreadSnapshot& t, const std::optional<GilState>& gil,
                         const Offsets& o) {
  if (!t.tstate) return GilRelation::kNotHolding;
  if (has_frame_named(t, {"take_gil"})) {
    // take_gil's last lines run with the GIL already taken.
    if (gil && gil->locked && gil->last_holder == t.tstate) return GilRelation::kHolds;
    return GilRelation::kWaiting;
  }
  if (has_frame_named(t, {"drop_gil"})) return GilRelation::kDropping;
  if (gil && t.syscall && t.syscall->number == kSysFutex) {
    switch (classify_gil_futex(*gil, o, RemoteAddr(t.syscall->args[0]))) {
      case GilFutex::kCond: return GilRelation::kWaiting;
      case GilFutex::kSwitchCond: return GilRelation::kDropping;
      case GilFutex::kMutex:
      case GilFutex::kNone: break;
    }
  }
  if (!gil) return GilRelation::kUnknown;
  return gil->locked && gil->last_holder == t.tstate ? GilRelation::kHolds
                                                     : GilRelation::kNotHolding;
}

bool blocked_on_lock(const ThreadSnapshot& t, std::string_view interpreter_path) {
  if (has_frame_named(t, {"PyThread_acquire_lock_timed", "acquire_timed",
                          "lock_PyThread_acquire_lock", "rlock_acquire", "_PyMutex_LockTimed",
                          "_PyMutex_LockSlow", "lock_PyThread_acquire_lock_impl"}))
    return true;
  if (python_calls(t, {"<built-in method acquire of _thread.", "<built-in method __enter__ of _thread.",
                       "<built-in method acquire_lock of _thread."}))
    return true;
  // Stripped: CPython waits in a semaphore only in PyThread_acquire_lock_timed
  // (<= 3.12) and in the parking lot behind PyMutex (3.13).
  std::string_view entry = libc_entry_called_by_interpreter(t, interpreter_path);
  return entry == "sem_clockwait" || entry == "sem_timedwait" || entry == "sem_wait" ||
         entry == "__new_sem_wait" || entry == "__sem_clockwait" || entry == "__sem_timedwait";
}

bool sleeping(const ThreadSnapshot& t, std::string_view interpreter_path) {
  if (has_frame_named(t, {"pysleep", "time_sleep"})) return true;
  if (python_calls(t, {"<built-in method sleep of module object"})) return true;
  // Stripped: time.sleep is the interpreter's only clock_nanosleep (3.11+)
  // and its only select() with no fds (<= 3.10; glibc makes it pselect6).
  if (!t.syscall) return false;
  std::string_view entry = libc_entry_called_by_interpreter(t, interpreter_path);
  if (entry.empty()) return false;
  if (t.syscall->number == kSysClockNanosleep) return true;
  return (t.syscall->number == kSysSelect || t.syscall->number == kSysPselect6) &&
         t.syscall->args[0] == 0;
}

}  // namespace

void classify_thread(ThreadSnapshot& t, const std::optional<GilState>& gil, const Offsets& o,
                     std::string_view interpreter_path) {
  t.gil = gil_relation(t, gil, o);
  if (!t.tstate) {
    t.activity = ThreadActivity::kIdle;
  } else if (t.gil == GilRelation::kWaiting) {
    t.activity = ThreadActivity::kWaitingForGil;
  } else if (t.gil == GilRelation::kDropping) {
    t.activity = ThreadActivity::kDroppingGil;
  } else if (t.gil == GilRelation::kHolds && t.syscall) {
    t.activity = ThreadActivity::kHoldsGil;
  } else if (blocked_on_lock(t, interpreter_path)) {
    t.activity = ThreadActivity::kBlockedOnLock;
  } else if (sleeping(t, interpreter_path)) {
    t.activity = ThreadActivity::kSleeping;
  } else if (t.syscall) {
    t.activity = ThreadActivity::kInSyscall;
  } else if (!t.native.empty() && t.native.front().module != interpreter_path &&
             !t.native.front().module.empty()) {
    t.activity = ThreadActivity::kRunningNative;
  } else if (t.gil == GilRelation::kHolds) {
    t.activity = ThreadActivity::kRunningPython;
  } else {
    t.activity = ThreadActivity::kUnknown;
  }
}

}  // namespace pyattach::cpython
