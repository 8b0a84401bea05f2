#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include "attach/live_memory.h"
#include "attach/proc.h"
#include "attach/stopped_process.h"
#include "attach/unwinder.h"
#include "support.h"
#include "support/fake_memory.h"

using namespace pyattach;
using namespace pyattach::attach;
using namespace pyattach::live;

namespace {

const MemoryMapping* mapping_of(const std::vector<MemoryMapping>& maps, std::uint64_t a) {
  for (const auto& m : maps)
    if (m.contains(a)) return &m;
  return nullptr;
}

// The invariants every unwound stack must satisfy.
void check_stack(const std::vector<NativeFrame>& frames, const StoppedThread& t,
                 const std::vector<MemoryMapping>& maps) {
  REQUIRE_FALSE(frames.empty());
  CHECK(frames[0].ip == t.regs.rip);
  CHECK(frames[0].sp == t.regs.rsp);
  // Frame 0's callee-saved registers are the thread's registers.
  CHECK(frames[0].callee_saved[static_cast<int>(CalleeSaved::rbx)] == t.regs.rbx);
  CHECK(frames[0].callee_saved[static_cast<int>(CalleeSaved::rbp)] == t.regs.rbp);
  CHECK(frames[0].callee_saved[static_cast<int>(CalleeSaved::r12)] == t.regs.r12);
  CHECK(frames[0].callee_saved[static_cast<int>(CalleeSaved::r15)] == t.regs.r15);
  for (std::size_t i = 0; i < frames.size(); ++i) {
    CAPTURE(i);
    const auto& f = frames[i];
    const MemoryMapping* m = mapping_of(maps, f.lookup_pc(i == 0));
    REQUIRE(m != nullptr);
    CHECK(m->executable);
    if (i + 1 < frames.size()) {
      CHECK(frames[i + 1].sp > f.sp);
      CHECK(f.cfa == frames[i + 1].sp);
      CHECK(f.holds_stack_address(f.sp));
    }
  }
}

int python_minor(const std::string& path) {
  auto pos = path.rfind("python3.");
  return pos == std::string::npos ? 0 : std::atoi(path.c_str() + pos + 8);
}

const char* kPythonTarget =
    "import threading, time\n"
    "def c():\n"
    "    while True: time.sleep(0.01)\n"
    "def b(): c()\n"
    "def a(): b()\n"
    "threading.Thread(target=a, daemon=True).start()\n"
    "def spin(n):\n"
    "    if n: return spin(n - 1)\n"
    "    while True: sum(range(100))\n"
    "time.sleep(0.1)\n"
    "print('ready', flush=True)\n"
    "spin(20)\n";

}  // namespace

TEST_CASE("Unwinder unwinds every thread of real Python processes") {
  auto pythons = python_interpreters();
  REQUIRE_FALSE(pythons.empty());
  for (const auto& python : pythons) {
    CAPTURE(python);
    std::string line;
    Child py = spawn_python(python, kPythonTarget, &line);
    REQUIRE(line == "ready");
    auto sp = StoppedProcess::stop(py.pid());
    REQUIRE_MESSAGE(sp, sp.error().message);
    REQUIRE(sp->threads().size() >= 2);
    auto maps = read_maps(py.pid());
    REQUIRE(maps);
    LiveMemory mem(py.pid());
    Unwinder unwinder(py.pid());
    for (const auto& t : sp->threads()) {
      CAPTURE(t.tid);
      auto frames = unwinder.unwind(t.tid, t.regs, mem);
      REQUIRE_MESSAGE(frames, frames.error().message);
      CHECK(frames->size() > 3);
      check_stack(*frames, t, maps.value());
      // Some frame runs the interpreter (python binary or libpython).
      bool in_python = std::any_of(frames->begin(), frames->end(), [&](const NativeFrame& f) {
        const MemoryMapping* m = mapping_of(*maps, f.ip - 1);
        return m && m->path.find("python") != std::string::npos;
      });
      CHECK(in_python);
      MESSAGE(python << " thread " << t.tid << ": " << frames->size() << " frames");
    }
    // The main thread recursed 20 Python calls deep. Before 3.11 each Python
    // call is a C-level _PyEval_EvalFrameDefault call; 3.11+ inlines them.
    auto main_frames = unwinder.unwind(sp->threads()[0].tid, sp->threads()[0].regs, mem);
    REQUIRE(main_frames);
    if (python_minor(python) < 11) CHECK(main_frames->size() > 20);

    // max_frames bounds the walk; the last frame still gets its cfa.
    auto two = unwinder.unwind(sp->threads()[0].tid, sp->threads()[0].regs, mem,
                               UnwindOptions{2});
    REQUIRE(two);
    REQUIRE(two->size() == 2);
    CHECK((*two)[0].cfa == (*two)[1].sp);
    CHECK((*two)[1].cfa == (*main_frames)[2].sp);
  }
}

TEST_CASE("Unwinder survives a new stop of the same process (cached address space)") {
  auto target = spawn_native("heartbeat", 2);
  Unwinder unwinder(target.pid());
  LiveMemory mem(target.pid());
  for (int round = 0; round < 3; ++round) {
    if (round == 2) unwinder.flush_cache();
    auto sp = StoppedProcess::stop(target.pid());
    REQUIRE(sp);
    auto maps = read_maps(target.pid());
    REQUIRE(maps);
    for (const auto& t : sp->threads()) {
      auto frames = unwinder.unwind(t.tid, t.regs, mem);
      REQUIRE(frames);
      CHECK(frames->size() >= 3);  // nanosleep <- usleep <- tick <- ...
      check_stack(*frames, t, *maps);
    }
  }
}

TEST_CASE("Unwinder on unreadable memory or garbage registers fails soft") {
  auto target = spawn_native("heartbeat", 0);
  auto sp = StoppedProcess::stop(target.pid());
  REQUIRE(sp);
  const StoppedThread& t = sp->threads()[0];
  Unwinder unwinder(target.pid());

  pyattach::testing::FakeMemory empty;  // every read fails
  auto frames = unwinder.unwind(t.tid, t.regs, empty);
  REQUIRE(frames);
  REQUIRE_FALSE(frames->empty());
  CHECK((*frames)[0].ip == t.regs.rip);
  CHECK(frames->size() <= 2);

  LiveMemory mem(target.pid());
  user_regs_struct garbage = t.regs;
  garbage.rip = 0x1234;
  garbage.rsp = 0x10;
  garbage.rbp = 0xdeadbeef;
  auto g = unwinder.unwind(t.tid, garbage, mem);
  REQUIRE(g);
  CHECK(g->size() <= 2);

  garbage.rip = 0;
  auto z = unwinder.unwind(t.tid, garbage, mem);
  REQUIRE(z);
  CHECK(z->empty());

  // A stack pointer aimed at the middle of real code: whatever comes out
  // must still be bounded and increasing.
  garbage = t.regs;
  garbage.rsp = t.regs.rip & ~std::uint64_t{7};
  auto w = unwinder.unwind(t.tid, garbage, mem, UnwindOptions{64});
  REQUIRE(w);
  CHECK(w->size() <= 64);
  for (std::size_t i = 1; i < w->size(); ++i) CHECK((*w)[i].sp > (*w)[i - 1].sp);
}
