// Which lock each thread waits for, and which locks each thread holds, read
// from a stopped CPython 3.8-3.13 process. Plain data out; deadlock.h builds
// the wait-for graph from it.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/remote_memory.h"
#include "cpython/offsets.h"
#include "cpython/snapshot.h"
#include "cpython/values.h"

namespace pyattach::cpython {

enum class LockKind : std::uint8_t { kLock, kRLock };

// A _thread.lock or _thread.RLock object, as read.
struct LockState {
  RemoteAddr address;
  LockKind kind = LockKind::kLock;
  std::string type_name;   // tp_name: "_thread.lock", "_thread.RLock"
  RemoteAddr native_lock;  // lock_lock / rlock_lock: the sem_t the waiters sleep on
  bool locked = false;     // lockobject.locked; RLock: rlock_count > 0
  std::uint64_t rlock_owner = 0;  // RLock: PyThread_get_thread_ident() of the owner
  std::uint64_t rlock_count = 0;
};

// How the lock a thread waits for was found, strongest first.
enum class WaitEvidence : std::uint8_t {
  kFutexAddress,   // the futex the thread sleeps on is the lock's own semaphore
  kCFunctionSelf,  // self of the <built-in method acquire/__enter__> being called
  kNativeStack,    // the only lock object in the registers/stack of the C frames
                   // between the wait and the eval loop (the C method's self)
  kValueStack,     // the calling Python frame's value stack
};
std::string_view evidence_name(WaitEvidence e);  // "futex address", ...

// A threading/queue object the wait goes through: a Condition, an Event, a
// Queue, a Thread being joined... Found as `self` of the threading.py and
// queue.py frames above the wait.
struct LockWrapper {
  std::string type_name;  // "threading.Condition", "queue.Queue", "threading.Thread"
  RemoteAddr address;
  std::size_t python_frame = 0;  // index into ThreadSnapshot::python
  std::string method;            // that frame's function: "wait", "get", "join"
};

struct ThreadWait {
  // The lock object; null when the wait is not on a lock object (3.13 join).
  RemoteAddr lock;
  std::optional<WaitEvidence> evidence;  // set when lock is
  std::vector<LockWrapper> wrappers;     // innermost first
  // Thread.join: the joined thread's ident (Thread._ident) and name.
  std::optional<std::uint64_t> join_ident;
  std::string join_name;
  std::optional<std::size_t> python_frame;  // innermost Python frame (the call that waits)
  std::optional<std::size_t> user_frame;    // innermost frame outside threading.py/queue.py
};

enum class HoldEvidence : std::uint8_t {
  kWithBlock,       // the lock's bound __exit__ is live on a frame's value stack
  kLocalReference,  // a local of a frame refers to the locked lock (weakest)
};
std::string_view evidence_name(HoldEvidence e);  // "with block", "local variable"

struct HeldLock {
  RemoteAddr lock;
  std::size_t python_frame = 0;     // index into ThreadSnapshot::python
  HoldEvidence evidence = HoldEvidence::kWithBlock;
  std::optional<int> acquire_line;  // the `with` statement's line, when found
  std::string variable;             // kLocalReference: the local's name
  RemoteAddr via;                   // a Condition whose lock this is; null if none
};

struct ThreadLocks {
  std::optional<ThreadWait> waits;
  std::vector<HeldLock> holds;  // inferred from frames; RLock owners come from LockState
};

struct LockAnalysis {
  std::vector<ThreadLocks> threads;  // parallel to ProcessSnapshot::threads
  std::vector<LockState> locks;      // every lock object met, no duplicates
  const LockState* find(RemoteAddr lock) const;
};

struct LockAnalysisContext {
  const RemoteMemory& memory;
  const Offsets& offsets;
  ValueReader& values;
  RemoteAddr cfunction_type, cmethod_type;  // PyCFunction_Type, PyCMethod_Type
  // The futex word a thread sleeps on (the first argument of its futex system
  // call), when known from its registers; null otherwise.
  std::function<RemoteAddr(const ThreadSnapshot&)> futex_word;
};

// Reads the target while it is stopped. Never fails as a whole: what cannot
// be read is left out (a thread with no identifiable wait has no `waits`).
// Bounded: value stacks by co_stacksize (at most 4096 slots), C stacks by
// 64 KiB per thread, exception tables and bytecode by 64 KiB.
LockAnalysis analyze_locks(const ProcessSnapshot& snapshot, const LockAnalysisContext& context);

}  // namespace pyattach::cpython
