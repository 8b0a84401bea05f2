// The wait-for graph: holders (exact, inferred, unknown), cycles, threads
// behind a cycle, GIL stalls; from hand-built plain data, no process.
#include <doctest/doctest.h>

#include "cpython/deadlock.h"

using namespace pyattach;
using namespace pyattach::cpython;

namespace {

struct World {
  ProcessSnapshot snapshot;
  LockAnalysis locks;

  std::size_t thread(std::uint64_t ident) {
    ThreadSnapshot t;
    t.tid = static_cast<pid_t>(1000 + snapshot.threads.size());
    t.pthread_id = ident;
    snapshot.threads.push_back(t);
    locks.threads.emplace_back();
    return snapshot.threads.size() - 1;
  }
  void lock(std::uint64_t addr, bool locked = true) {
    LockState s;
    s.address = RemoteAddr(addr);
    s.locked = locked;
    locks.locks.push_back(s);
  }
  void rlock(std::uint64_t addr, std::uint64_t owner) {
    LockState s;
    s.address = RemoteAddr(addr);
    s.kind = LockKind::kRLock;
    s.rlock_owner = owner;
    s.rlock_count = owner ? 1 : 0;
    s.locked = owner != 0;
    locks.locks.push_back(s);
  }
  void waits(std::size_t t, std::uint64_t lock) {
    ThreadWait w;
    w.lock = RemoteAddr(lock);
    locks.threads[t].waits.emplace(std::move(w));
  }
  void holds(std::size_t t, std::uint64_t lock, HoldEvidence e = HoldEvidence::kWithBlock) {
    HeldLock h;
    h.lock = RemoteAddr(lock);
    h.evidence = e;
    locks.threads[t].holds.push_back(h);
  }
};

}  // namespace

TEST_CASE("two threads crossing two Locks make one inferred cycle; a joiner waits behind it") {
  World w;
  auto a = w.thread(0xa), b = w.thread(0xb), main = w.thread(0xc);
  w.lock(0x100);
  w.lock(0x200);
  w.holds(a, 0x100);
  w.waits(a, 0x200);
  w.holds(b, 0x200);
  w.waits(b, 0x100);
  ThreadWait join;
  join.join_ident = 0xa;
  w.locks.threads[main].waits.emplace(std::move(join));

  auto f = find_deadlocks(w.snapshot, w.locks, {});
  REQUIRE(f.cycles.size() == 1);
  REQUIRE(f.cycles[0].size() == 2);
  for (std::size_t e : f.cycles[0]) CHECK(f.edges[e].certainty == HolderCertainty::kInferred);
  CHECK(f.edges[f.cycles[0][0]].holder == f.edges[f.cycles[0][1]].waiter);
  CHECK(f.edges[f.cycles[0][1]].holder == f.edges[f.cycles[0][0]].waiter);
  REQUIRE(f.behind_cycles.size() == 1);
  const auto& behind = f.edges[f.behind_cycles[0]];
  CHECK(behind.waiter == main);
  CHECK(behind.holder == a);
  CHECK(behind.certainty == HolderCertainty::kExact);
  CHECK(f.deadlocked());
}

TEST_CASE("an RLock's owner is exact and wins over frames") {
  World w;
  auto a = w.thread(0xa), b = w.thread(0xb);
  w.rlock(0x100, 0xb);
  w.waits(a, 0x100);
  w.holds(a, 0x100);  // a stale-looking claim: the owner field decides
  auto f = find_deadlocks(w.snapshot, w.locks, {});
  REQUIRE(f.edges.size() == 1);
  CHECK(f.edges[0].holder == b);
  CHECK(f.edges[0].certainty == HolderCertainty::kExact);
  CHECK(f.cycles.empty());
  CHECK_FALSE(f.deadlocked());
}

TEST_CASE("no evidence, or two candidates, or an unlocked lock: holder unknown") {
  World w;
  auto a = w.thread(0xa), b = w.thread(0xb), c = w.thread(0xc);
  w.lock(0x100);
  w.lock(0x200);
  w.lock(0x300, /*locked=*/false);
  w.waits(a, 0x100);  // nobody claims it
  w.waits(b, 0x200);  // two local references: ambiguous
  w.holds(a, 0x200, HoldEvidence::kLocalReference);
  w.holds(c, 0x200, HoldEvidence::kLocalReference);
  w.waits(c, 0x300);
  w.holds(a, 0x300);
  auto f = find_deadlocks(w.snapshot, w.locks, {});
  REQUIRE(f.edges.size() == 3);
  for (const auto& e : f.edges) {
    CHECK_FALSE(e.holder.has_value());
    CHECK(e.certainty == HolderCertainty::kUnknown);
  }
  CHECK_FALSE(f.deadlocked());
}

TEST_CASE("a with block beats a local reference; a ring of three is one cycle") {
  World w;
  auto t0 = w.thread(1), t1 = w.thread(2), t2 = w.thread(3);
  for (std::uint64_t l : {0x10, 0x20, 0x30}) w.lock(l);
  w.holds(t0, 0x10);
  w.holds(t1, 0x20);
  w.holds(t2, 0x30);
  w.holds(t2, 0x20, HoldEvidence::kLocalReference);
  w.waits(t0, 0x20);
  w.waits(t1, 0x30);
  w.waits(t2, 0x10);
  auto f = find_deadlocks(w.snapshot, w.locks, {});
  REQUIRE(f.cycles.size() == 1);
  CHECK(f.cycles[0].size() == 3);
  CHECK(f.edges[0].holder == t1);
  CHECK(f.edges[0].how == "with block");
}

TEST_CASE("GIL: a holder blocked in native code stalls the GIL waiters; a lock held by a GIL waiter") {
  World w;
  auto holder = w.thread(1), spinner = w.thread(2), locked_out = w.thread(3);
  w.lock(0x10);
  w.holds(spinner, 0x10);
  w.waits(locked_out, 0x10);
  GilView gil;
  gil.holds_gil = {true, false, false};
  gil.waits_for_gil = {false, true, false};
  gil.blocked_in_native = {true, false, false};
  auto f = find_deadlocks(w.snapshot, w.locks, gil);
  CHECK(f.gil_holder == holder);
  CHECK(f.gil_waiters == std::vector<std::size_t>{spinner});
  REQUIRE(f.held_by_gil_waiter.size() == 1);
  CHECK(f.edges[f.held_by_gil_waiter[0]].waiter == locked_out);
  CHECK(f.deadlocked());
  gil.blocked_in_native = {false, false, false};
  CHECK_FALSE(find_deadlocks(w.snapshot, w.locks, gil).deadlocked());
}
