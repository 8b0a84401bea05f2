// The GIL read from fake memory images laid out with the built-in offsets of
// real builds, and the thread-state decision (cpython/gil.h, thread_state.h).
#include <doctest/doctest.h>

#include "cpython/gil.h"
#include "cpython/offsets_table.h"
#include "cpython/thread_state.h"
#include "support/fake_memory.h"

using namespace pyattach;
using namespace pyattach::cpython;
using pyattach::testing::FakeMemory;

namespace {

constexpr std::uint64_t kRuntime = 0x10000, kInterp = 0x20000, kHeapGil = 0x30000;
constexpr std::uint64_t kTstateA = 0x40000, kTstateB = 0x41000;

Offsets table_offsets(int minor, int micro) {
  auto o = TableOffsetsSource().load({3, minor, micro});
  REQUIRE(o);
  return *o;
}

// Writes a GIL (locked, last holder) where `o` says the version keeps it.
FakeMemory gil_image(const Offsets& o, std::int32_t locked, std::uint64_t holder) {
  FakeMemory m;
  m.add_region(kRuntime, 0x2000);
  m.add_region(kInterp, 0x2000);
  m.add_region(kHeapGil, 0x400);
  std::uint64_t gil = kHeapGil;
  if (o.gil.runtime_gil != kAbsent)
    gil = kRuntime + o.gil.runtime_gil;
  else
    m.write_value<std::uint64_t>(kInterp + o.gil.interp_gil, kHeapGil);
  m.write_value<std::int32_t>(gil + o.gil.locked, locked);
  m.write_value<std::uint64_t>(gil + o.gil.last_holder, holder);
  return m;
}

ThreadSnapshot python_thread(std::uint64_t tstate, std::vector<std::string> symbols,
                             std::string_view interpreter = "/lib/libpython3.12.so") {
  ThreadSnapshot t;
  t.tstate = RemoteAddr(tstate);
  for (auto& s : symbols) {
    NativeFrameSnapshot f;
    f.symbol = s;
    f.module = s.starts_with("PyEval") || s == "take_gil" || s == "drop_gil" ||
                       s == "PyThread_acquire_lock_timed" || s == "pysleep" || s.empty()
                   ? std::string(interpreter)
                   : std::string("/usr/lib/x86_64-linux-gnu/libc.so.6");
    t.native.push_back(f);
  }
  return t;
}

SyscallInfo call(std::int64_t number, std::uint64_t arg0 = 0) {
  SyscallInfo c;
  c.number = number;
  c.args[0] = arg0;
  return c;
}

}  // namespace

TEST_CASE("the GIL of 3.8-3.11 lives in _PyRuntime, of 3.12+ behind interp->ceval.gil") {
  for (auto [minor, micro] : {std::pair{8, 18}, {9, 18}, {10, 13}, {11, 7}, {12, 1}, {13, 0}}) {
    CAPTURE(minor);
    const Offsets o = table_offsets(minor, micro);
    CHECK((o.gil.runtime_gil != kAbsent) == (minor <= 11));
    CHECK((o.gil.interp_gil != kAbsent) == (minor >= 12));
    auto memory = gil_image(o, 1, kTstateA);
    auto gil = read_gil(memory, o, RemoteAddr(kRuntime), RemoteAddr(kInterp));
    REQUIRE(gil);
    CHECK(gil->locked);
    CHECK(gil->last_holder == RemoteAddr(kTstateA));
    CHECK(gil->address == RemoteAddr(minor <= 11 ? kRuntime + o.gil.runtime_gil : kHeapGil));

    auto released = gil_image(o, 0, kTstateA);
    auto free_gil = read_gil(released, o, RemoteAddr(kRuntime), RemoteAddr(kInterp));
    REQUIRE(free_gil);
    CHECK_FALSE(free_gil->locked);
    auto uninitialised = gil_image(o, -1, 0);
    CHECK_FALSE(read_gil(uninitialised, o, RemoteAddr(kRuntime), RemoteAddr(kInterp))->locked);
  }
}

TEST_CASE("an unreadable GIL is an error, never a guess") {
  Offsets o = table_offsets(12, 1);
  FakeMemory memory = gil_image(o, 1, kTstateA);
  memory.write_value<std::uint64_t>(kInterp + o.gil.interp_gil, 0xdead0000);  // garbage
  CHECK_FALSE(read_gil(memory, o, RemoteAddr(kRuntime), RemoteAddr(kInterp)));
  memory.write_value<std::uint64_t>(kInterp + o.gil.interp_gil, 0);
  CHECK_FALSE(read_gil(memory, o, RemoteAddr(kRuntime), RemoteAddr(kInterp)));
  Offsets no_gil = o;
  no_gil.gil.locked = kAbsent;
  CHECK(read_gil(memory, no_gil, RemoteAddr(kRuntime), RemoteAddr(kInterp)).error().code ==
        ErrorCode::kDebugInfo);
}

TEST_CASE("futex words inside the GIL tell waiting from dropping") {
  const Offsets o = table_offsets(11, 7);
  GilState gil{RemoteAddr(0x5000), true, RemoteAddr(kTstateA)};
  CHECK(classify_gil_futex(gil, o, RemoteAddr(0x5000 + o.gil.cond + 40)) == GilFutex::kCond);
  CHECK(classify_gil_futex(gil, o, RemoteAddr(0x5000 + o.gil.switch_cond + 44)) ==
        GilFutex::kSwitchCond);
  CHECK(classify_gil_futex(gil, o, RemoteAddr(0x5000 + o.gil.mutex)) == GilFutex::kMutex);
  CHECK(classify_gil_futex(gil, o, RemoteAddr(0x5000 + o.gil.locked)) == GilFutex::kNone);
  CHECK(classify_gil_futex(gil, o, RemoteAddr(0x9000)) == GilFutex::kNone);
}

TEST_CASE("thread activity, most specific evidence first") {
  const Offsets o = table_offsets(12, 1);
  const std::string_view lib = "/lib/libpython3.12.so";
  const GilState held_by_a{RemoteAddr(kHeapGil), true, RemoteAddr(kTstateA)};

  SUBCASE("holding the GIL while blocked in a system call") {
    auto t = python_thread(kTstateA, {"clock_nanosleep", "sleep", "ffi_call", "PyEval_EvalFrameDefault"});
    t.native[2].module = "/lib/libffi.so.8";
    t.syscall = call(230);
    classify_thread(t, held_by_a, o, lib);
    CHECK(t.gil == GilRelation::kHolds);
    CHECK(t.activity == ThreadActivity::kHoldsGil);
  }
  SUBCASE("waiting for the GIL: a take_gil frame") {
    auto t = python_thread(kTstateB, {"__futex_abstimed_wait_common", "take_gil", "PyEval_RestoreThread"});
    classify_thread(t, held_by_a, o, lib);
    CHECK(t.gil == GilRelation::kWaiting);
    CHECK(t.activity == ThreadActivity::kWaitingForGil);
  }
  SUBCASE("frame names with GCC's suffixes (Debian's LTO build) count as the C names") {
    // A futex that is not the GIL's: only the names can say what the thread does.
    auto gil = python_thread(kTstateB, {"__futex_abstimed_wait_common", "take_gil.lto_priv.0",
                                        "PyEval_RestoreThread"});
    gil.native[1].module = std::string(lib);
    gil.syscall = call(202, 0x77770000);
    classify_thread(gil, held_by_a, o, lib);
    CHECK(gil.activity == ThreadActivity::kWaitingForGil);
    auto dropping = python_thread(kTstateB, {"__futex_abstimed_wait_common",
                                             "drop_gil.lto_priv.0.cold"});
    dropping.native[1].module = std::string(lib);
    classify_thread(dropping, held_by_a, o, lib);
    CHECK(dropping.gil == GilRelation::kDropping);
  }
  SUBCASE("waiting for the GIL, stripped: the futex word is the GIL's condition") {
    auto t = python_thread(kTstateB, {"__futex_abstimed_wait_common", "pthread_cond_timedwait", ""});
    t.syscall = call(202, kHeapGil + o.gil.cond + 40);
    classify_thread(t, held_by_a, o, lib);
    CHECK(t.activity == ThreadActivity::kWaitingForGil);
  }
  SUBCASE("dropping the GIL: waiting on its switch condition") {
    auto t = python_thread(kTstateB, {"__futex_abstimed_wait_common", "pthread_cond_wait", ""});
    t.syscall = call(202, kHeapGil + o.gil.switch_cond + 40);
    classify_thread(t, held_by_a, o, lib);
    CHECK(t.gil == GilRelation::kDropping);
    CHECK(t.activity == ThreadActivity::kDroppingGil);
  }
  SUBCASE("another futex is not the GIL") {
    auto t = python_thread(kTstateB, {"__futex_abstimed_wait_common", "some_c_extension"});
    t.native[1].module = "/lib/ext.so";
    t.syscall = call(202, 0x77770000);
    classify_thread(t, held_by_a, o, lib);
    CHECK(t.gil == GilRelation::kNotHolding);
    CHECK(t.activity == ThreadActivity::kInSyscall);
  }
  SUBCASE("blocked on a lock: by name, and stripped by the semaphore the interpreter waits in") {
    auto named = python_thread(kTstateB, {"__futex_abstimed_wait_common", "do_futex_wait",
                                          "sem_clockwait", "PyThread_acquire_lock_timed"});
    named.syscall = call(202, 0x77770000);
    classify_thread(named, held_by_a, o, lib);
    CHECK(named.activity == ThreadActivity::kBlockedOnLock);
    auto stripped = python_thread(kTstateB, {"__futex_abstimed_wait_common", "sem_clockwait", ""});
    stripped.syscall = call(202, 0x77770000);
    classify_thread(stripped, held_by_a, o, lib);
    CHECK(stripped.activity == ThreadActivity::kBlockedOnLock);
    // The same semaphore called from an extension proves nothing about locks.
    auto other = python_thread(kTstateB, {"__futex_abstimed_wait_common", "sem_clockwait", "ext_fn"});
    other.native[2].module = "/lib/ext.so";
    other.syscall = call(202, 0x77770000);
    classify_thread(other, held_by_a, o, lib);
    CHECK(other.activity == ThreadActivity::kInSyscall);
  }
  SUBCASE("time.sleep: pysleep, or clock_nanosleep called by the interpreter") {
    auto named = python_thread(kTstateB, {"clock_nanosleep", "pysleep"});
    named.syscall = call(230);
    classify_thread(named, held_by_a, o, lib);
    CHECK(named.activity == ThreadActivity::kSleeping);
    auto stripped = python_thread(kTstateB, {"clock_nanosleep", ""});
    stripped.syscall = call(230);
    classify_thread(stripped, held_by_a, o, lib);
    CHECK(stripped.activity == ThreadActivity::kSleeping);
    auto old = python_thread(kTstateB, {"select", ""});  // <= 3.10: select(0, ...)
    old.syscall = call(23, 0);
    classify_thread(old, held_by_a, o, lib);
    CHECK(old.activity == ThreadActivity::kSleeping);
    auto glibc = python_thread(kTstateB, {"select", ""});  // glibc's select is pselect6
    glibc.syscall = call(270, 0);
    classify_thread(glibc, held_by_a, o, lib);
    CHECK(glibc.activity == ThreadActivity::kSleeping);
  }
  SUBCASE("running: Python with the GIL, native without") {
    auto py = python_thread(kTstateA, {"PyEval_EvalFrameDefault"});
    classify_thread(py, held_by_a, o, lib);
    CHECK(py.activity == ThreadActivity::kRunningPython);
    auto native = python_thread(kTstateB, {"memcpy"});
    classify_thread(native, held_by_a, o, lib);
    CHECK(native.activity == ThreadActivity::kRunningNative);
  }
  SUBCASE("no thread state: idle, not holding the GIL") {
    auto t = python_thread(0, {"epoll_wait"});
    t.syscall = call(232);
    classify_thread(t, held_by_a, o, lib);
    CHECK(t.activity == ThreadActivity::kIdle);
    CHECK(t.gil == GilRelation::kNotHolding);
  }
  SUBCASE("GIL unreadable: unknown, unless frames prove it") {
    auto t = python_thread(kTstateA, {"PyEval_EvalFrameDefault"});
    classify_thread(t, std::nullopt, o, lib);
    CHECK(t.gil == GilRelation::kUnknown);
    CHECK(t.activity == ThreadActivity::kUnknown);
    auto waiting = python_thread(kTstateB, {"__futex_abstimed_wait_common", "take_gil"});
    classify_thread(waiting, std::nullopt, o, lib);
    CHECK(waiting.activity == ThreadActivity::kWaitingForGil);
  }
}
