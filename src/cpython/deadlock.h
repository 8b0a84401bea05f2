// The wait-for graph of a snapshot: who waits for whom, the cycles in it,
// and the GIL stalls. Pure logic on the plain data of snapshot.h and locks.h.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "cpython/locks.h"
#include "cpython/snapshot.h"

namespace pyattach::cpython {

enum class HolderCertainty : std::uint8_t {
  kUnknown,   // nothing identifies the holder: never guessed
  kExact,     // the lock says who holds it (RLock owner, joined Thread's ident)
  kInferred,  // from the holder's frames (a live with-block, a local)
};
std::string_view certainty_name(HolderCertainty c);  // "exact", "inferred", "unknown"

// One waiting thread's edge of the graph.
struct WaitEdge {
  std::size_t waiter = 0;  // index into ProcessSnapshot::threads
  const ThreadWait* wait = nullptr;  // into the LockAnalysis
  std::optional<std::size_t> holder;  // index into threads
  HolderCertainty certainty = HolderCertainty::kUnknown;
  std::string how;  // "rlock_owner", "Thread._ident", "with block", "local variable 'x'"
  // Where the holder acquired the lock: index into that thread's holds.
  std::optional<std::size_t> hold;
};

struct DeadlockFindings {
  std::vector<WaitEdge> edges;  // one per waiting thread, in thread order
  // Each cycle: indices into edges, in order; edges[c[i]].holder is
  // edges[c[i+1]].waiter (and the last one's holder the first's waiter).
  std::vector<std::vector<std::size_t>> cycles;
  // Edges whose chain of holders ends in a cycle without being on it.
  std::vector<std::size_t> behind_cycles;
  // Edges whose holder waits for the GIL (and so cannot release it yet).
  std::vector<std::size_t> held_by_gil_waiter;
  // GIL stall: a thread holds the GIL while blocked in native code (no
  // Python frame runs in it, or a C call that does not release the GIL),
  // and these threads wait for the GIL behind it.
  std::optional<std::size_t> gil_holder;  // index into threads
  std::vector<std::size_t> gil_waiters;   // indices into threads

  bool deadlocked() const { return !cycles.empty() || (gil_holder && !gil_waiters.empty()); }
};

// How each thread relates to the GIL and whether it is blocked outside
// Python, as the thread-state layer says (ThreadSnapshot's GIL fields).
struct GilView {
  std::vector<bool> holds_gil;        // parallel to threads
  std::vector<bool> waits_for_gil;    // parallel to threads
  std::vector<bool> blocked_in_native;  // holds it and sleeps in a system call
};

DeadlockFindings find_deadlocks(const ProcessSnapshot& snapshot, const LockAnalysis& locks,
                                const GilView& gil);

}  // namespace pyattach::cpython
