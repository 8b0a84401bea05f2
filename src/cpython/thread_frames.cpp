#include "cpython/thread_frames.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/log.h"

namespace pyattach::cpython {
namespace {

constexpr std::string_view kEvalFrameSymbol = "_PyEval_EvalFrameDefault";
constexpr std::size_t kMaxStackScanBytes = 64 * 1024;
constexpr std::size_t kPythonFrameScanBytes = 4096;

bool is_cfunction_trampoline(std::string_view name, const PythonVersion& v) {
  if (name.starts_with("cfunction_vectorcall_")) return true;
  return v.at_least(3, 9) ? name == "cfunction_call" : name == "cfunction_call_varargs";
}

Result<std::string> read_type_name(const RemoteMemory& memory, const Offsets& o,
                                   RemoteAddr obj) {
  auto type = PYATTACH_TRY(memory.read_pointer(obj + o.object.ob_type));
  auto name = PYATTACH_TRY(memory.read_pointer(type + o.type.tp_name));
  return memory.read_c_string(name, 256);
}

// Is `candidate` a PyCFunctionObject whose C function starts at `callee`?
bool is_cfunction_for(const FrameContext& c, std::uint64_t candidate,
                      std::optional<std::uint64_t> callee) {
  if (candidate < 4096 || candidate % 8 != 0) return false;
  RemoteAddr obj(candidate);
  auto type = c.memory.read_pointer(obj + c.offsets.object.ob_type);
  if (!type || (*type != c.cfunction_type && (c.cmethod_type.is_null() || *type != c.cmethod_type)))
    return false;
  if (!callee) return true;
  auto ml = c.memory.read_pointer(obj + c.offsets.cfunction.m_ml);
  if (!ml) return false;
  auto meth = c.memory.read_u64(*ml + c.offsets.cfunction.ml_meth);
  return meth && *meth == *callee;
}

// python-gdb.py reads the `func` argument of cfunction_* with DWARF. We find
// the same object without DWARF locations: look where it must still be (the
// callee-saved registers and stack of the C frames between the call and the
// eval loop, and the calling Python frame's value stack) and accept only a
// builtin-function object whose ml_meth is the very C function called next.
std::optional<RemoteAddr> find_cfunction_object(const FrameContext& c,
                                                const std::vector<NativeFrame>& native,
                                                std::size_t index,
                                                std::optional<std::uint64_t> callee,
                                                RemoteAddr calling_python_frame) {
  // Registers first: the frames from the trampoline up to the next eval frame.
  std::size_t last = std::min(native.size(), index + 8);
  for (std::size_t i = index; i < last; ++i)
    for (const auto& reg : native[i].callee_saved)
      if (reg && is_cfunction_for(c, *reg, callee)) return RemoteAddr(*reg);

  auto scan = [&](std::uint64_t begin, std::uint64_t end) -> std::optional<RemoteAddr> {
    begin &= ~std::uint64_t{7};
    if (end <= begin) return std::nullopt;
    end = std::min(end, begin + kMaxStackScanBytes);
    std::vector<std::uint64_t> words((end - begin) / 8);
    // Read page by page: the end of the range may be unmapped.
    std::size_t got = 0;
    while (got < words.size()) {
      std::uint64_t at = begin + got * 8;
      std::size_t in_page = (4096 - (at & 4095)) / 8;
      std::size_t n = std::min(words.size() - got, std::max<std::size_t>(in_page, 1));
      if (!c.memory.read(RemoteAddr(at), std::as_writable_bytes(std::span(words).subspan(got, n))))
        break;
      got += n;
    }
    for (std::size_t i = 0; i < got; ++i)
      if (is_cfunction_for(c, words[i], callee)) return RemoteAddr(words[i]);
    return std::nullopt;
  };
  if (calling_python_frame)
    if (auto found = scan(calling_python_frame.as_int(),
                          calling_python_frame.as_int() + kPythonFrameScanBytes))
      return found;
  std::uint64_t stack_begin = index > 0 ? native[index - 1].sp : native[index].sp;
  std::uint64_t stack_end = native[last - 1].cfa ? native[last - 1].cfa : native[last - 1].sp;
  return scan(stack_begin, stack_end);
}

// The innermost Python frame of the first eval frame after `index`: the
// Python code that made the call `index` runs.
RemoteAddr calling_python_frame(const ThreadSnapshot& thread, std::size_t index) {
  for (std::size_t j = index + 1; j < thread.native.size(); ++j)
    if (!thread.native[j].python_frames.empty())
      return thread.python[thread.native[j].python_frames.front()].address;
  return RemoteAddr();
}

// Where the function of native[index] starts: its symbol, else its unwind entry.
std::optional<std::uint64_t> function_start(const FrameContext& c,
                                            const std::vector<NativeFrame>& native,
                                            std::size_t index) {
  if (auto sym = c.symbols.symbolize(RemoteAddr(native[index].lookup_pc(index == 0))))
    return sym->start.as_int();
  return native[index].function_start;
}

// Does `frame` run the function through which CPython calls `func`: its
// vectorcall trampoline (cfunction_vectorcall_*), or its type's tp_call
// (cfunction_call)? A method descriptor's trampoline calling the same C
// function (lock.acquire in 3.9 while a bound `acquire` lies on the stack)
// is thereby told apart.
bool runs_trampoline_of(const FrameContext& c, const NativeFrame& frame, RemoteAddr func) {
  if (!frame.function_start) return false;
  const auto& o = c.offsets;
  if (o.cfunction.vectorcall != kAbsent)
    if (auto vc = c.memory.read_u64(func + o.cfunction.vectorcall); vc && *vc == *frame.function_start)
      return true;
  if (o.type_slots.tp_call != kAbsent)
    if (auto type = c.memory.read_pointer(func + o.object.ob_type))
      if (auto call = c.memory.read_u64(*type + o.type_slots.tp_call);
          call && *call == *frame.function_start)
        return true;
  return false;
}

// A stripped interpreter leaves cfunction_call and cfunction_vectorcall_*
// unnamed. Such a frame is taken for one only when proven: it is not an eval
// frame, an eval frame follows within kTrampolineReach frames (the call came
// from Python code, possibly through a few C helpers), and a PyCFunctionObject
// (type PyCFunction_Type or PyCMethod_Type) found where the call left it has
// ml_meth equal to the start of the function the frame called, and the frame
// itself is that object's trampoline (runs_trampoline_of). Else nullopt:
// no line at all, never a guess.
std::optional<std::string> describe_unnamed_cfunction_call(const FrameContext& c,
                                                           const ThreadSnapshot& thread,
                                                           const std::vector<NativeFrame>& native,
                                                           std::size_t i) {
  constexpr std::size_t kTrampolineReach = 8;
  if (i == 0 || thread.native[i].is_eval || thread.native[i - 1].is_eval) return std::nullopt;
  if (c.cfunction_type.is_null()) return std::nullopt;
  bool eval_follows = false;
  for (std::size_t j = i + 1; j < thread.native.size() && j <= i + kTrampolineReach; ++j)
    if (thread.native[j].is_eval) {
      eval_follows = true;
      break;
    }
  if (!eval_follows) return std::nullopt;
  auto callee = function_start(c, native, i - 1);
  if (!callee) return std::nullopt;
  auto func = find_cfunction_object(c, native, i, callee, calling_python_frame(thread, i));
  if (!func || !runs_trampoline_of(c, native[i], *func)) return std::nullopt;
  auto text = describe_cfunction(c.memory, c.offsets, *func);
  if (!text) return std::nullopt;
  return *text;
}

}  // namespace

Result<std::string> describe_cfunction(const RemoteMemory& memory, const Offsets& o,
                                       RemoteAddr func) {
  auto ml = PYATTACH_TRY(memory.read_pointer(func + o.cfunction.m_ml));
  auto name_ptr = PYATTACH_TRY(memory.read_pointer(ml + o.cfunction.ml_name));
  auto name = PYATTACH_TRY(memory.read_c_string(name_ptr, 256));
  auto self = PYATTACH_TRY(memory.read_pointer(func + o.cfunction.m_self));
  if (self.is_null()) return fmt::format("<built-in function {}>", name);
  auto type_name = PYATTACH_TRY(read_type_name(memory, o, self));
  return fmt::format("<built-in method {} of {} object at remote {:#x}>", name, type_name,
                     self.as_int());
}

void build_thread_frames(ThreadSnapshot& thread, const std::vector<NativeFrame>& native,
                         PythonStack stack, const FrameContext& c) {
  thread.native.clear();
  thread.native.reserve(native.size());
  for (std::size_t i = 0; i < native.size(); ++i) {
    NativeFrameSnapshot snap;
    snap.frame = native[i];
    RemoteAddr pc(native[i].lookup_pc(i == 0));
    if (auto sym = c.symbols.symbolize(pc)) {
      snap.symbol = sym->name;
      snap.symbol_offset = native[i].ip - sym->start.as_int();
      snap.module = sym->module_path;
    } else {
      snap.module = c.symbols.module_of(pc);
    }
    snap.is_eval = c_function_name(snap.symbol) == kEvalFrameSymbol;
    thread.native.push_back(std::move(snap));
  }
  for (auto& w : stack.warnings) thread.warnings.push_back(std::move(w));
  thread.python = std::move(stack.frames);

  // Place each segment on a C frame.
  const std::size_t kUnplaced = ~std::size_t{0};
  std::vector<std::size_t> placed(stack.segments.size(), kUnplaced);
  bool any_by_order = false;
  for (std::size_t s = 0; s < stack.segments.size(); ++s) {
    RemoteAddr mark = stack.segments[s].c_stack_marker;
    if (!mark) continue;
    for (std::size_t i = 0; i < native.size(); ++i)
      if (native[i].holds_stack_address(mark.as_int())) {
        placed[s] = i;
        thread.native[i].is_eval = true;  // even when the symbol is unknown (stripped)
        break;
      }
  }
  std::size_t cursor = 0;
  for (std::size_t s = 0; s < stack.segments.size(); ++s) {
    if (placed[s] != kUnplaced) {
      cursor = placed[s] + 1;
      continue;
    }
    if (stack.segments[s].count == 0) continue;
    // The next eval C frame not claimed by an address-placed segment, and
    // before the next address-placed segment's frame.
    std::size_t limit = native.size();
    for (std::size_t t = s + 1; t < stack.segments.size(); ++t)
      if (placed[t] != kUnplaced && stack.segments[t].c_stack_marker) {
        limit = placed[t];
        break;
      }
    for (std::size_t i = cursor; i < limit; ++i)
      if (thread.native[i].is_eval &&
          std::find(placed.begin(), placed.end(), i) == placed.end()) {
        placed[s] = i;
        cursor = i + 1;
        any_by_order = true;
        break;
      }
  }
  std::size_t unplaced_frames = 0;
  for (std::size_t s = 0; s < stack.segments.size(); ++s) {
    const auto& seg = stack.segments[s];
    if (placed[s] == kUnplaced) {
      unplaced_frames += seg.count;
      continue;
    }
    for (std::size_t k = 0; k < seg.count; ++k)
      thread.native[placed[s]].python_frames.push_back(seg.first + k);
  }
  if (unplaced_frames > 0)
    thread.warnings.push_back(fmt::format(
        "{} Python frame(s) could not be placed on a C frame", unplaced_frames));
  thread.mapping = thread.python.empty() ? FrameMapping::kNone
                   : any_by_order        ? FrameMapping::kByOrder
                                         : FrameMapping::kByAddress;

  // python-gdb.py's "other python frames".
  for (std::size_t i = 0; i < thread.native.size(); ++i) {
    auto& snap = thread.native[i];
    std::string_view name = c_function_name(snap.symbol);
    if (name.empty()) {
      if (auto text = describe_unnamed_cfunction_call(c, thread, native, i))
        snap.other_python_info = std::move(*text);
    } else if (name == "take_gil") {
      snap.other_python_info = "Waiting for the GIL";
    } else if (name == "collect" || name == "gc_collect_main") {
      snap.other_python_info = "Garbage-collecting";
    } else if (is_cfunction_trampoline(name, c.offsets.version)) {
      std::optional<std::uint64_t> callee;
      if (i > 0)
        if (auto sym = c.symbols.symbolize(RemoteAddr(native[i - 1].lookup_pc(i - 1 == 0))))
          callee = sym->start.as_int();
      // The Python frame that made the call: the innermost one of the next
      // eval frame out.
      RemoteAddr caller;
      for (std::size_t j = i + 1; j < thread.native.size() && !caller; ++j)
        if (!thread.native[j].python_frames.empty())
          caller = thread.python[thread.native[j].python_frames.front()].address;
      auto func = find_cfunction_object(c, native, i, callee, caller);
      if (func) snap.cfunction = *func;
      auto text = func ? describe_cfunction(c.memory, c.offsets, *func)
                       : Result<std::string>(fail(ErrorCode::kCorruptData, "not found"));
      snap.other_python_info =
          text ? *text : std::string("PyCFunction invocation (unable to read func)");
    }
  }
}

}  // namespace pyattach::cpython
