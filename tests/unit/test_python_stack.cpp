// The frame walk of each version family on fake memory images: the normal
// path, cycles, garbage pointers, truncated chains, incomplete frames.
#include <doctest/doctest.h>

#include "cpython/python_stack.h"
#include "support/python_image.h"

using namespace pyattach;
using namespace pyattach::cpython;
using pyattach::testing::PythonImage;
using pyattach::testing::synthetic_offsets;

namespace {

// 3.11+ location table: one "no column" entry (code 13) of 8 code units whose
// line is firstlineno + 2.
const std::string kLocationTable("\xef\x04", 2);
// 3.10 linetable: 16 bytes of bytecode at firstlineno + 2.
const std::string kLinetable310("\x10\x02", 2);

struct Chain311Plus {
  PythonImage image;
  Offsets o;
  std::uint64_t tstate = 0;
  explicit Chain311Plus(int minor) : image(synthetic_offsets(minor)), o(synthetic_offsets(minor)) {
    tstate = image.alloc(128);
  }
  std::uint64_t frame(std::uint64_t code, std::uint64_t previous, int instr_units,
                      FrameOwner owner = FrameOwner::kThread, bool is_entry = false) {
    std::uint64_t f = image.alloc(128);
    image.put_u64(f + o.iframe.code, code);
    image.put_u64(f + o.iframe.previous, previous);
    image.put_u64(f + o.iframe.instr, code + o.code.code_adaptive + 2 * instr_units);
    image.put_u8(f + o.iframe.owner, static_cast<std::uint8_t>(owner));
    if (o.iframe.is_entry != kAbsent) image.put_u8(f + o.iframe.is_entry, is_entry);
    return f;
  }
  // Points the thread state at its innermost frame (through a _PyCFrame
  // before 3.13); returns the _PyCFrame's address, or 0.
  std::uint64_t set_current(std::uint64_t frame, std::uint64_t cframe_previous = 0) {
    if (o.tstate.current_frame != kAbsent) {
      image.put_u64(tstate + o.tstate.current_frame, frame);
      return 0;
    }
    std::uint64_t cframe = image.alloc(32);
    image.put_u64(cframe + o.cframe.current_frame, frame);
    image.put_u64(cframe + o.cframe.previous, cframe_previous);
    image.put_u64(tstate + o.tstate.cframe, cframe);
    return cframe;
  }
};

}  // namespace

TEST_CASE("3.12 and 3.13: shim frames split segments and mark the C stack") {
  for (int minor : {12, 13}) {
    CAPTURE(minor);
    Chain311Plus c(minor);
    auto code_a = c.image.code("/app/a.py", "inner", 10, kLocationTable);
    auto code_b = c.image.code("/app/b.py", "outer", 20, kLocationTable);
    auto shim_outer = c.frame(0, 0, 0, FrameOwner::kCStack);
    auto f_b = c.frame(code_b, shim_outer, 3);
    auto shim_inner = c.frame(0, f_b, 0, FrameOwner::kCStack);
    auto f_a = c.frame(code_a, shim_inner, 1);
    c.set_current(f_a);

    CodeCache codes;
    auto stack = read_python_stack(c.image.memory, c.o, RemoteAddr(c.tstate), codes);
    REQUIRE(stack.frames.size() == 2);
    CHECK(stack.frames[0].filename == "/app/a.py");
    CHECK(stack.frames[0].name == "inner");
    CHECK(stack.frames[0].line == 12);
    CHECK(stack.frames[1].name == "outer");
    CHECK(stack.frames[1].line == 22);
    REQUIRE(stack.segments.size() == 2);
    CHECK(stack.segments[0].first == 0);
    CHECK(stack.segments[0].count == 1);
    CHECK(stack.segments[0].c_stack_marker == RemoteAddr(shim_inner));
    CHECK(stack.segments[1].first == 1);
    CHECK(stack.segments[1].c_stack_marker == RemoteAddr(shim_outer));
    CHECK(stack.warnings.empty());
  }
}

TEST_CASE("3.11: entry frames end segments, each marked by its _PyCFrame") {
  Chain311Plus c(11);
  auto code = c.image.code("/app/g.py", "gen", 5, kLocationTable);
  auto outer = c.frame(code, 0, 2, FrameOwner::kThread, /*is_entry=*/true);
  auto middle = c.frame(code, outer, 2, FrameOwner::kGenerator, /*is_entry=*/true);
  auto inner = c.frame(code, middle, 2);
  // Two eval calls: the inner one runs `inner` and `middle`, the outer `outer`.
  std::uint64_t root_cframe = c.image.alloc(32);
  std::uint64_t outer_cframe = c.image.alloc(32);
  c.image.put_u64(outer_cframe + c.o.cframe.current_frame, outer);
  c.image.put_u64(outer_cframe + c.o.cframe.previous, root_cframe);
  auto inner_cframe = c.set_current(inner, outer_cframe);

  CodeCache codes;
  auto stack = read_python_stack(c.image.memory, c.o, RemoteAddr(c.tstate), codes);
  REQUIRE(stack.frames.size() == 3);
  REQUIRE(stack.segments.size() == 2);
  CHECK(stack.segments[0].count == 2);
  CHECK(stack.segments[0].c_stack_marker == RemoteAddr(inner_cframe));
  CHECK(stack.segments[1].count == 1);
  CHECK(stack.segments[1].c_stack_marker == RemoteAddr(outer_cframe));
}

TEST_CASE("3.11+: incomplete frames are skipped as CPython skips them") {
  Chain311Plus c(12);
  auto code = c.image.code("/app/a.py", "f", 1, kLocationTable, /*firsttraceable=*/4);
  auto shim = c.frame(0, 0, 0, FrameOwner::kCStack);
  auto complete = c.frame(code, shim, 5);
  auto incomplete = c.frame(code, complete, 1);  // before instruction 4
  c.set_current(incomplete);
  CodeCache codes;
  auto stack = read_python_stack(c.image.memory, c.o, RemoteAddr(c.tstate), codes);
  REQUIRE(stack.frames.size() == 1);
  CHECK(stack.frames[0].address == RemoteAddr(complete));
}

TEST_CASE("an empty line table still gives a readable frame (found by tests/fuzz)") {
  // UBSan: memcpy to the empty vector's null data() pointer, even of 0 bytes.
  Chain311Plus c(13);
  auto code = c.image.code("/app/a.py", "f", 7, std::string());
  c.set_current(c.frame(code, 0, 1));
  CodeCache codes;
  auto stack = read_python_stack(c.image.memory, c.o, RemoteAddr(c.tstate), codes);
  REQUIRE(stack.frames.size() == 1);
  CHECK(stack.frames[0].readable);
  CHECK(stack.frames[0].name == "f");
}

TEST_CASE("3.11+: a garbage previous pointer ends the chain with an unreadable frame") {
  Chain311Plus c(13);
  auto code = c.image.code("/app/a.py", "f", 1, kLocationTable);
  auto f = c.frame(code, 0xdead0000, 1);
  c.set_current(f);
  CodeCache codes;
  auto stack = read_python_stack(c.image.memory, c.o, RemoteAddr(c.tstate), codes);
  REQUIRE(stack.frames.size() == 2);
  CHECK(stack.frames[0].readable);
  CHECK_FALSE(stack.frames[1].readable);
  CHECK(stack.frames[1].address == RemoteAddr(0xdead0000));
  CHECK_FALSE(stack.warnings.empty());
}

TEST_CASE("3.11+: a garbage code object gives an unreadable frame, not a crash") {
  Chain311Plus c(12);
  auto shim = c.frame(0, 0, 0, FrameOwner::kCStack);
  auto f = c.frame(0x5000, shim, 1);  // code pointer into nothing
  c.set_current(f);
  CodeCache codes;
  auto stack = read_python_stack(c.image.memory, c.o, RemoteAddr(c.tstate), codes);
  REQUIRE(stack.frames.size() == 1);
  CHECK_FALSE(stack.frames[0].readable);
}

TEST_CASE("3.11+: a frame chain that loops stops, and says so") {
  Chain311Plus c(13);
  auto code = c.image.code("/app/a.py", "f", 1, kLocationTable);
  auto a = c.frame(code, 0, 1);
  auto b = c.frame(code, a, 1);
  c.image.put_u64(a + c.o.iframe.previous, b);  // a -> b -> a
  c.set_current(b);
  CodeCache codes;
  auto stack = read_python_stack(c.image.memory, c.o, RemoteAddr(c.tstate), codes);
  CHECK(stack.frames.size() == 2);
  REQUIRE(stack.warnings.size() == 1);
  CHECK(stack.warnings[0] == "the frame chain loops; stopped");
}

TEST_CASE("decode=false defers names and lines; decode_frames gives what decode=true gives") {
  for (int minor : {11, 12, 13}) {
    CAPTURE(minor);
    Chain311Plus c(minor);
    auto code_a = c.image.code("/app/a.py", "inner", 10, kLocationTable);
    auto code_b = c.image.code("/app/b.py", "outer", 20, kLocationTable);
    auto f_b = c.frame(code_b, 0, 3);
    auto f_a = c.frame(code_a, f_b, 1);
    c.set_current(f_a);
    CodeCache eager_codes, lazy_codes;
    auto eager = read_python_stack(c.image.memory, c.o, RemoteAddr(c.tstate), eager_codes);
    auto lazy = read_python_stack(c.image.memory, c.o, RemoteAddr(c.tstate), lazy_codes,
                                  kMaxPythonFrames, /*decode=*/false);
    CHECK(lazy.frames.empty());
    REQUIRE(lazy.raw.size() == 2);
    // Decoding reads no target memory: only the code objects cached while walking.
    decode_frames(lazy, lazy_codes);
    CHECK(lazy.raw.empty());
    REQUIRE(lazy.frames.size() == eager.frames.size());
    for (std::size_t i = 0; i < eager.frames.size(); ++i) {
      CHECK(lazy.frames[i].address == eager.frames[i].address);
      CHECK(lazy.frames[i].filename == eager.frames[i].filename);
      CHECK(lazy.frames[i].name == eager.frames[i].name);
      CHECK(lazy.frames[i].qualname == eager.frames[i].qualname);
      CHECK(lazy.frames[i].line == eager.frames[i].line);
    }
    CHECK(lazy.frames[1].line == 22);
    // A code object the cache never saw decodes as unreadable, not garbage.
    PythonStack unknown;
    PythonStack::RawFrame raw;
    raw.address = RemoteAddr(0x1000);
    raw.code = RemoteAddr(0x2000);
    raw.readable = true;
    unknown.raw.push_back(raw);
    decode_frames(unknown, CodeCache{});
    REQUIRE(unknown.frames.size() == 1);
    CHECK_FALSE(unknown.frames[0].readable);
  }
}

TEST_CASE("3.11+: the walk is bounded by max_frames") {
  Chain311Plus c(12);
  auto code = c.image.code("/app/a.py", "f", 1, kLocationTable);
  std::uint64_t prev = 0;
  for (int i = 0; i < 50; ++i) prev = c.frame(code, prev, 1);
  c.set_current(prev);
  CodeCache codes;
  auto stack = read_python_stack(c.image.memory, c.o, RemoteAddr(c.tstate), codes, 10);
  CHECK(stack.frames.size() == 10);
  REQUIRE_FALSE(stack.warnings.empty());
  CHECK(stack.warnings[0] == "stopped after 10 Python frames");
}

TEST_CASE("3.8-3.10: frame objects via f_back, one segment each, lines from the table") {
  for (int minor : {9, 10}) {
    CAPTURE(minor);
    Offsets o = synthetic_offsets(minor);
    PythonImage image(o);
    // Every instruction on firstlineno + 2: the 3.10 table says it per
    // range, the 3.9 lnotab as a line step at offset 0.
    auto code = image.code("/app/old.py", "work", 30,
                           minor == 10 ? kLinetable310 : std::string("\x00\x02", 2));
    auto frame = [&](std::uint64_t back, int lasti) {
      auto f = image.alloc(128);
      image.put_u64(f + o.frame_object.f_back, back);
      image.put_u64(f + o.frame_object.f_code, code);
      image.put_i32(f + o.frame_object.f_lasti, lasti);
      return f;
    };
    auto outer = frame(0, 2);
    auto inner = frame(outer, -1);  // not started: the first line
    auto tstate = image.alloc(64);
    image.put_u64(tstate + o.tstate.frame, inner);
    CodeCache codes;
    auto stack = read_python_stack(image.memory, o, RemoteAddr(tstate), codes);
    REQUIRE(stack.frames.size() == 2);
    CHECK(stack.frames[0].line == 30);
    CHECK(stack.frames[1].line == 32);
    REQUIRE(stack.segments.size() == 2);
    CHECK(stack.segments[0].c_stack_marker.is_null());

    // While tracing, f_lineno is what CPython reports.
    image.put_i32(outer + o.frame_object.f_lineno, 77);
    image.put_u64(outer + o.frame_object.f_trace, 0x1234);
    CodeCache fresh;
    auto traced = read_python_stack(image.memory, o, RemoteAddr(tstate), fresh);
    CHECK(traced.frames[1].line == 77);
  }
}

TEST_CASE("read_thread_states walks interpreters and threads and survives a cycle") {
  Offsets o = synthetic_offsets(12);
  PythonImage image(o);
  auto runtime = image.alloc(64);
  auto interp = image.alloc(32);
  auto t1 = image.alloc(64), t2 = image.alloc(64);
  image.put_u64(runtime + o.runtime.interpreters_head, interp);
  image.put_u64(interp + o.interp.threads_head, t1);
  image.put_u64(t1 + o.tstate.next, t2);
  image.put_u64(t2 + o.tstate.next, t1);  // a cycle
  image.put_u64(t1 + o.tstate.thread_id, 0x7f00);
  image.put_u64(t2 + o.tstate.thread_id, 0x7f01);
  image.put_u64(t1 + o.tstate.native_thread_id, 100);
  image.put_u64(t2 + o.tstate.native_thread_id, 101);
  auto states = read_thread_states(image.memory, RemoteAddr(runtime), o);
  REQUIRE(states);
  REQUIRE(states->size() == 2);
  CHECK((*states)[0].native_thread_id == 100);
  CHECK((*states)[1].thread_id == 0x7f01);

  auto bad = read_thread_states(image.memory, RemoteAddr(0x40), o);
  CHECK_FALSE(bad);
}

TEST_CASE("innermost_frame_address is where the walk starts, for each version family") {
  for (int minor : {12, 13}) {
    CAPTURE(minor);
    Chain311Plus c(minor);
    auto code = c.image.code("/app/a.py", "f", 10, kLocationTable);
    auto outer = c.frame(code, 0, 1);
    auto inner = c.frame(code, outer, 1);
    CHECK(innermost_frame_address(c.image.memory, c.o, RemoteAddr(c.tstate)).is_null());
    c.set_current(inner);
    CHECK(innermost_frame_address(c.image.memory, c.o, RemoteAddr(c.tstate)) ==
          RemoteAddr(inner));
    CodeCache codes;
    auto stack = read_python_stack(c.image.memory, c.o, RemoteAddr(c.tstate), codes);
    REQUIRE(!stack.frames.empty());
    CHECK(stack.frames[0].address == RemoteAddr(inner));
  }
  Offsets o = synthetic_offsets(10);
  PythonImage image(o);
  auto tstate = image.alloc(64);
  auto frame = image.alloc(128);
  image.put_u64(tstate + o.tstate.frame, frame);
  CHECK(innermost_frame_address(image.memory, o, RemoteAddr(tstate)) == RemoteAddr(frame));
  // Garbage: null, never a failure.
  CHECK(innermost_frame_address(image.memory, o, RemoteAddr(0x10)).is_null());
}

TEST_CASE("3.11+: a frame field far from the others (offsets from the target) is read alone") {
  // The walk reads a frame's fields in one span when they lie close together;
  // _Py_DebugOffsets could put one anywhere, and the walk must not care.
  Offsets o = synthetic_offsets(12);
  o.iframe.owner = 600;
  Chain311Plus c(12);
  c.o = o;
  auto code = c.image.code("/app/far.py", "far", 40, kLocationTable);
  auto frame = [&](std::uint64_t previous) {
    std::uint64_t f = c.image.alloc(1024);
    c.image.put_u64(f + o.iframe.code, code);
    c.image.put_u64(f + o.iframe.previous, previous);
    c.image.put_u64(f + o.iframe.instr, code + o.code.code_adaptive + 2);
    c.image.put_u8(f + o.iframe.owner, static_cast<std::uint8_t>(FrameOwner::kThread));
    return f;
  };
  auto outer = frame(0);
  auto shim = c.image.alloc(1024);
  c.image.put_u64(shim + o.iframe.previous, outer);
  c.image.put_u8(shim + o.iframe.owner, static_cast<std::uint8_t>(FrameOwner::kCStack));
  auto inner = frame(shim);
  c.set_current(inner);
  CodeCache codes;
  auto stack = read_python_stack(c.image.memory, c.o, RemoteAddr(c.tstate), codes);
  REQUIRE(stack.frames.size() == 2);
  CHECK(stack.frames[0].name == "far");
  CHECK(stack.frames[0].line == 42);
  REQUIRE(stack.segments.size() == 2);
  CHECK(stack.segments[0].c_stack_marker == RemoteAddr(shim));
  CHECK(stack.warnings.empty());
}
