// Placing Python segments on native frames: by address, by order, and the
// python-gdb.py lines for built-in functions.
#include <doctest/doctest.h>

#include <map>

#include <fmt/format.h>

#include "cpython/thread_frames.h"
#include "support/python_image.h"

using namespace pyattach;
using namespace pyattach::cpython;
using pyattach::testing::PythonImage;
using pyattach::testing::synthetic_offsets;

namespace {

// Symbols by function start; each function is 0x100 bytes long.
class FakeSymbols final : public Symbolizer {
 public:
  std::map<std::uint64_t, std::string> functions;
  std::optional<SymbolInfo> symbolize(RemoteAddr addr) const override {
    auto it = functions.upper_bound(addr.as_int());
    if (it == functions.begin()) return std::nullopt;
    --it;
    if (addr.as_int() >= it->first + 0x100) return std::nullopt;
    return SymbolInfo{it->second, RemoteAddr(it->first), 0x100, "/lib/libpython.so"};
  }
  std::string module_of(RemoteAddr) const override { return "/lib/libpython.so"; }
  std::optional<RemoteAddr> address_of(std::string_view, std::string_view) const override {
    return std::nullopt;
  }
};

NativeFrame native(std::uint64_t ip, std::uint64_t sp, std::uint64_t cfa) {
  NativeFrame f;
  f.ip = ip;
  f.sp = sp;
  f.cfa = cfa;
  return f;
}

PythonStack two_segments(RemoteAddr first_mark, RemoteAddr second_mark) {
  PythonStack stack;
  for (const char* name : {"inner", "middle", "outer"}) {
    PyFrameSnapshot f;
    f.name = name;
    stack.frames.push_back(f);
  }
  stack.segments = {{0, 2, first_mark}, {2, 1, second_mark}};
  return stack;
}

// A builtin `time.sleep` in target memory: its type objects, the module as
// m_self, the PyMethodDef (ml_meth = 0x1000) and the PyCFunctionObject.
struct SleepBuiltin {
  std::uint64_t type_builtin, type_other, type_module, module, ml, func;
  SleepBuiltin(PythonImage& image, const Offsets& o) {
    type_builtin = image.alloc(64);
    type_other = image.alloc(64);
    type_module = image.alloc(64);
    auto tp_name = image.alloc(16);
    image.memory.write_bytes(tp_name, std::string_view("module\0", 7));
    image.put_u64(type_module + o.type.tp_name, tp_name);
    module = image.alloc(32);
    image.put_u64(module + o.object.ob_type, type_module);
    auto ml_name = image.alloc(16);
    image.memory.write_bytes(ml_name, std::string_view("sleep\0", 6));
    ml = image.alloc(32);
    image.put_u64(ml + o.cfunction.ml_name, ml_name);
    image.put_u64(ml + o.cfunction.ml_meth, 0x1000);
    func = image.alloc(64);
    image.put_u64(func + o.object.ob_type, type_builtin);
    image.put_u64(func + o.cfunction.m_ml, ml);
    image.put_u64(func + o.cfunction.m_self, module);
  }
};

}  // namespace

TEST_CASE("segments go to the C frame whose stack holds their marker") {
  Offsets o = synthetic_offsets(12);
  PythonImage image(o);
  FakeSymbols symbols;
  symbols.functions = {{0x1000, "clock_nanosleep"}, {0x2000, "_PyEval_EvalFrameDefault"},
                       {0x3000, "PyObject_Call"}};
  std::vector<NativeFrame> frames = {native(0x1010, 0x7000, 0x7100),
                                     native(0x2010, 0x7100, 0x7300),
                                     native(0x3010, 0x7300, 0x7400),
                                     native(0x2020, 0x7400, 0x7600)};
  ThreadSnapshot thread;
  FrameContext context{image.memory, o, symbols, RemoteAddr(), RemoteAddr()};
  build_thread_frames(thread, frames, two_segments(RemoteAddr(0x7250), RemoteAddr(0x7500)),
                      context);
  REQUIRE(thread.native.size() == 4);
  CHECK(thread.mapping == FrameMapping::kByAddress);
  CHECK(thread.native[0].python_frames.empty());
  CHECK(thread.native[1].python_frames == std::vector<std::size_t>{0, 1});
  CHECK(thread.native[3].python_frames == std::vector<std::size_t>{2});
  CHECK(thread.native[1].is_eval);
  CHECK(thread.native[2].symbol == "PyObject_Call");
  CHECK(thread.warnings.empty());
}

TEST_CASE("an unnamed C frame holding a marker is an eval frame (stripped binaries)") {
  Offsets o = synthetic_offsets(13);
  PythonImage image(o);
  FakeSymbols symbols;  // knows nothing
  std::vector<NativeFrame> frames = {native(0x1010, 0x7000, 0x7100),
                                     native(0x2010, 0x7100, 0x7300),
                                     native(0x2020, 0x7300, 0x7600)};
  ThreadSnapshot thread;
  FrameContext context{image.memory, o, symbols, RemoteAddr(), RemoteAddr()};
  build_thread_frames(thread, frames, two_segments(RemoteAddr(0x7100), RemoteAddr(0x75f8)),
                      context);
  CHECK(thread.mapping == FrameMapping::kByAddress);
  CHECK(thread.native[1].is_eval);
  CHECK(thread.native[1].symbol.empty());
  CHECK(thread.native[2].python_frames == std::vector<std::size_t>{2});
}

TEST_CASE("without markers (<=3.10) segments go to eval frames in order") {
  Offsets o = synthetic_offsets(10);
  PythonImage image(o);
  FakeSymbols symbols;
  symbols.functions = {{0x2000, "_PyEval_EvalFrameDefault"}, {0x3000, "function_code_fastcall"}};
  std::vector<NativeFrame> frames = {native(0x2010, 0x7000, 0x7100),
                                     native(0x3010, 0x7100, 0x7200),
                                     native(0x2010, 0x7200, 0x7300)};
  PythonStack stack = two_segments(RemoteAddr(), RemoteAddr());
  stack.segments = {{0, 1, RemoteAddr()}, {1, 1, RemoteAddr()}, {2, 1, RemoteAddr()}};
  ThreadSnapshot thread;
  FrameContext context{image.memory, o, symbols, RemoteAddr(), RemoteAddr()};
  build_thread_frames(thread, frames, stack, context);
  CHECK(thread.mapping == FrameMapping::kByOrder);
  CHECK(thread.native[0].python_frames == std::vector<std::size_t>{0});
  CHECK(thread.native[2].python_frames == std::vector<std::size_t>{1});
  // Three segments, two eval frames: the last cannot be placed, and we say so.
  REQUIRE(thread.warnings.size() == 1);
  CHECK(thread.warnings[0] == "1 Python frame(s) could not be placed on a C frame");
}

TEST_CASE("a cfunction trampoline gets python-gdb.py's built-in method line") {
  Offsets o = synthetic_offsets(12);
  o.cfunction = {16, 24, 0, 8};  // m_ml, m_self, ml_name, ml_meth
  PythonImage image(o);
  FakeSymbols symbols;
  symbols.functions = {{0x1000, "time_sleep"}, {0x2000, "cfunction_vectorcall_O"},
                       {0x3000, "_PyEval_EvalFrameDefault"}};
  SleepBuiltin b(image, o);
  const auto [type_builtin, type_other, type_module, module, ml, func] = b;

  std::vector<NativeFrame> frames = {native(0x1010, 0x7000, 0x7100),
                                     native(0x2010, 0x7100, 0x7200),
                                     native(0x3010, 0x7200, 0x7300)};
  frames[1].callee_saved[static_cast<int>(CalleeSaved::rbx)] = func;
  ThreadSnapshot thread;
  FrameContext context{image.memory, o, symbols, RemoteAddr(type_builtin), RemoteAddr()};
  build_thread_frames(thread, frames, PythonStack{}, context);
  CHECK(thread.native[1].other_python_info ==
        fmt::format("<built-in method sleep of module object at remote {:#x}>", module));

  // A look-alike whose ml_meth is another function is not taken for it.
  image.put_u64(ml + o.cfunction.ml_meth, 0x1800);
  ThreadSnapshot again;
  build_thread_frames(again, frames, PythonStack{}, context);
  CHECK(again.native[1].other_python_info == "PyCFunction invocation (unable to read func)");
}

TEST_CASE("stripped: an unnamed frame gets the built-in line only when ml_meth proves it") {
  Offsets o = synthetic_offsets(12);
  o.cfunction = {16, 24, 0, 8, 48};  // m_ml, m_self, ml_name, ml_meth, vectorcall
  o.type_slots.tp_call = 40;
  PythonImage image(o);
  FakeSymbols symbols;  // only the exported eval function has a name
  symbols.functions = {{0x3000, "_PyEval_EvalFrameDefault"}};
  SleepBuiltin b(image, o);
  const auto [type_builtin, type_other, type_module, module, ml, func] = b;
  image.put_u64(func + o.cfunction.vectorcall, 0x2000);  // cfunction_vectorcall_O

  // time_sleep (unnamed) <- cfunction_vectorcall_O (unnamed) <- eval
  std::vector<NativeFrame> frames = {native(0x1010, 0x7000, 0x7100),
                                     native(0x2010, 0x7100, 0x7200),
                                     native(0x3010, 0x7200, 0x7300)};
  frames[0].function_start = 0x1000;
  frames[1].function_start = 0x2000;
  frames[1].callee_saved[static_cast<int>(CalleeSaved::rbx)] = func;
  FrameContext context{image.memory, o, symbols, RemoteAddr(type_builtin), RemoteAddr()};
  auto run = [&](const std::vector<NativeFrame>& f) {
    ThreadSnapshot thread;
    build_thread_frames(thread, f, PythonStack{}, context);
    return thread;
  };
  const std::string line =
      fmt::format("<built-in method sleep of module object at remote {:#x}>", module);
  {
    auto thread = run(frames);
    CHECK(thread.native[0].other_python_info.empty());  // its callee is no ml_meth
    CHECK(thread.native[1].other_python_info == line);
    CHECK(thread.native[1].symbol.empty());
  }
  // The callee's start from its symbol works as well as from the unwind info.
  {
    auto named = frames;
    named[0].function_start.reset();
    symbols.functions[0x1000] = "time_sleep";
    CHECK(run(named).native[1].other_python_info == line);
    symbols.functions.erase(0x1000);
  }
  // Through cfunction_call, the type's tp_call, as well.
  {
    image.put_u64(func + o.cfunction.vectorcall, 0);
    image.put_u64(type_builtin + o.type_slots.tp_call, 0x2000);
    CHECK(run(frames).native[1].other_python_info == line);
    image.put_u64(type_builtin + o.type_slots.tp_call, 0);
  }
  // Not proven, so nothing at all (never "unable to read func"):
  // the frame is not the object's trampoline (a method descriptor's calling
  // the same C function, with a bound method of it lying around),
  CHECK(run(frames).native[1].other_python_info.empty());
  image.put_u64(func + o.cfunction.vectorcall, 0x2000);
  // the callee's start is unknown,
  {
    auto unknown = frames;
    unknown[0].function_start.reset();
    CHECK(run(unknown).native[1].other_python_info.empty());
  }
  // ml_meth is another function,
  image.put_u64(ml + o.cfunction.ml_meth, 0x1008);
  CHECK(run(frames).native[1].other_python_info.empty());
  image.put_u64(ml + o.cfunction.ml_meth, 0x1000);
  // the object is not a builtin function (a look-alike of another type),
  image.put_u64(func + o.object.ob_type, type_other);
  CHECK(run(frames).native[1].other_python_info.empty());
  image.put_u64(func + o.object.ob_type, type_builtin);
  // no eval frame follows (not a call from Python code),
  {
    std::vector<NativeFrame> no_eval(frames.begin(), frames.begin() + 2);
    CHECK(run(no_eval).native[1].other_python_info.empty());
  }
  // PyCFunction_Type is unknown (no symbol for it).
  {
    FrameContext blind{image.memory, o, symbols, RemoteAddr(), RemoteAddr()};
    ThreadSnapshot thread;
    build_thread_frames(thread, frames, PythonStack{}, blind);
    CHECK(thread.native[1].other_python_info.empty());
  }
  // And the proof holds again once restored.
  CHECK(run(frames).native[1].other_python_info == line);
}

TEST_CASE("an LTO-renamed trampoline (Debian: cfunction_call.lto_priv.0) gets the built-in line") {
  Offsets o = synthetic_offsets(11);
  o.cfunction = {16, 24, 0, 8};  // m_ml, m_self, ml_name, ml_meth
  PythonImage image(o);
  auto type_builtin = image.alloc(64);
  auto ml_name = image.alloc(16);
  image.memory.write_bytes(ml_name, std::string_view("reduce\0", 7));
  auto ml = image.alloc(32);
  image.put_u64(ml + o.cfunction.ml_name, ml_name);
  image.put_u64(ml + o.cfunction.ml_meth, 0x1000);
  auto func = image.alloc(64);
  image.put_u64(func + o.object.ob_type, type_builtin);
  image.put_u64(func + o.cfunction.m_ml, ml);  // m_self NULL: a built-in function
  FakeSymbols symbols;
  symbols.functions = {{0x1000, "functools_reduce.lto_priv.0"},
                       {0x2000, "cfunction_call.lto_priv.0"},
                       {0x3000, "_PyEval_EvalFrameDefault.constprop.0"}};
  std::vector<NativeFrame> frames = {native(0x1010, 0x7000, 0x7100),
                                     native(0x2010, 0x7100, 0x7200),
                                     native(0x3010, 0x7200, 0x7300)};
  frames[1].callee_saved[static_cast<int>(CalleeSaved::r12)] = func;
  FrameContext context{image.memory, o, symbols, RemoteAddr(type_builtin), RemoteAddr()};
  ThreadSnapshot thread;
  build_thread_frames(thread, frames, PythonStack{}, context);
  CHECK(thread.native[1].other_python_info == "<built-in function reduce>");
  CHECK(thread.native[1].symbol == "cfunction_call.lto_priv.0");  // bt prints the ELF name
  CHECK(thread.native[2].is_eval);
}
