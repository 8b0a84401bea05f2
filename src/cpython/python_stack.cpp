#include "cpython/python_stack.h"

#include <algorithm>
#include <array>
#include <initializer_list>
#include <cstring>
#include <unordered_set>

#include <fmt/format.h>

#include "core/log.h"
#include "cpython/line_table.h"

namespace pyattach::cpython {
namespace {

constexpr std::size_t kMaxInterpreters = 64;
constexpr std::size_t kMaxThreadStates = 100000;
constexpr std::size_t kMaxLineTableBytes = 1 << 20;
constexpr std::size_t kMaxNameChars = 4096;

template <class T>
Result<T> read_field(const RemoteMemory& memory, RemoteAddr base, std::uint64_t offset) {
  if (offset == kAbsent)
    return fail(ErrorCode::kInternal, "read of a field this version does not have");
  return memory.read_value<T>(base + offset);
}

Result<RemoteAddr> read_ptr_field(const RemoteMemory& memory, RemoteAddr base,
                                  std::uint64_t offset) {
  auto v = read_field<std::uint64_t>(memory, base, offset);
  if (!v) return std::unexpected(v.error());
  return RemoteAddr(*v);
}

std::string_view format_version_note(const Offsets& o) {
  return o.version.at_least(3, 11) ? "interpreter frame" : "frame object";
}

}  // namespace

Result<std::string> read_str(const RemoteMemory& memory, const Offsets& offsets,
                             RemoteAddr obj, std::size_t max_chars) {
  auto s = read_unicode(memory, obj, offsets.unicode, max_chars);
  if (!s) return std::unexpected(s.error());
  return std::move(s->utf8);
}

Result<std::vector<ThreadStateInfo>> read_thread_states(const RemoteMemory& memory,
                                                        RemoteAddr runtime,
                                                        const Offsets& o) {
  std::vector<ThreadStateInfo> out;
  auto interp = read_ptr_field(memory, runtime, o.runtime.interpreters_head);
  if (!interp) return std::unexpected(interp.error());
  std::unordered_set<RemoteAddr> seen_interps, seen_tstates;
  for (RemoteAddr is = *interp; is && seen_interps.size() < kMaxInterpreters;) {
    if (!seen_interps.insert(is).second) break;  // a cycle: stop
    auto head = read_ptr_field(memory, is, o.interp.threads_head);
    if (!head) {
      log::get("cpython")->warn("unreadable interpreter state at {:#x}", is.as_int());
      break;
    }
    for (RemoteAddr ts = *head; ts && seen_tstates.size() < kMaxThreadStates;) {
      if (!seen_tstates.insert(ts).second) break;
      ThreadStateInfo info;
      info.tstate = ts;
      info.interp = is;
      auto tid = read_field<std::uint64_t>(memory, ts, o.tstate.thread_id);
      if (!tid) {
        log::get("cpython")->warn("unreadable thread state at {:#x}", ts.as_int());
        break;
      }
      info.thread_id = *tid;
      if (o.tstate.native_thread_id != kAbsent)
        info.native_thread_id =
            read_field<std::uint64_t>(memory, ts, o.tstate.native_thread_id).value_or(0);
      out.push_back(info);
      auto next = read_ptr_field(memory, ts, o.tstate.next);
      if (!next) break;
      ts = *next;
    }
    auto next = read_ptr_field(memory, is, o.interp.next);
    if (!next) break;
    is = *next;
  }
  return out;
}

const CodeCache::CodeInfo& CodeCache::get(const RemoteMemory& memory, const Offsets& o,
                                          RemoteAddr code) {
  // Consecutive frames often run the same code (recursion, loops of calls).
  if (last_.info && code == last_.code) return *last_.info;
  auto [it, inserted] = cache_.try_emplace(code);
  CodeInfo& info = it->second;
  last_.code = code;
  last_.info = &info;  // unordered_map values stay put
  if (!inserted) return info;
  auto filename = read_ptr_field(memory, code, o.code.filename);
  auto name = read_ptr_field(memory, code, o.code.name);
  auto firstlineno = read_field<std::int32_t>(memory, code, o.code.firstlineno);
  auto table = read_ptr_field(memory, code, o.code.linetable);
  if (!filename || !name || !firstlineno || !table) return info;
  auto filename_str = read_str(memory, o, *filename, kMaxNameChars);
  auto name_str = read_str(memory, o, *name, kMaxNameChars);
  if (!filename_str || !name_str) return info;
  info.filename = std::move(*filename_str);
  info.name = std::move(*name_str);
  info.qualname = info.name;
  if (o.code.qualname != kAbsent) {
    if (auto q = read_ptr_field(memory, code, o.code.qualname))
      if (auto qs = read_str(memory, o, *q, kMaxNameChars)) info.qualname = std::move(*qs);
  }
  info.firstlineno = *firstlineno;
  // An empty table is legal (and memcpy from/to null is not, even of 0 bytes).
  if (auto bytes = read_bytes_object(memory, *table, o.bytes, kMaxLineTableBytes);
      bytes && !bytes->data.empty()) {
    info.linetable.resize(bytes->data.size());
    std::memcpy(info.linetable.data(), bytes->data.data(), bytes->data.size());
  }
  if (o.code.firsttraceable != kAbsent)
    info.firsttraceable =
        read_field<std::int32_t>(memory, code, o.code.firsttraceable).value_or(0);
  info.readable = true;
  return info;
}

const CodeCache::CodeInfo* CodeCache::find(RemoteAddr code) const {
  auto it = cache_.find(code);
  return it == cache_.end() ? nullptr : &it->second;
}

void decode_frames(PythonStack& stack, const CodeCache& codes) {
  stack.frames.reserve(stack.frames.size() + stack.raw.size());
  for (const auto& raw : stack.raw) {
    PyFrameSnapshot& snap = stack.frames.emplace_back();
    snap.address = raw.address;
    snap.code = raw.code;
    const auto* info = raw.readable ? codes.find(raw.code) : nullptr;
    snap.readable = info && info->readable;
    if (!snap.readable) continue;
    snap.filename = info->filename;
    snap.name = info->name;
    snap.qualname = info->qualname;
    snap.line = raw.line ? raw.line
                         : addr_to_line(raw.format, info->linetable, info->firstlineno, raw.addrq);
  }
  stack.raw.clear();
  stack.raw.shrink_to_fit();
}

namespace {

// Floyd/Brent-style loop check without a set: remembers one frame address
// and moves it at powers of two, so a chain that loops meets it again within
// twice the loop's length.
class LoopCheck {
 public:
  bool seen(RemoteAddr addr) {
    if (addr == mark_) return true;
    if (++steps_ == limit_) {
      mark_ = addr;
      limit_ *= 2;
      steps_ = 0;
    }
    return false;
  }

 private:
  RemoteAddr mark_;
  std::size_t steps_ = 0, limit_ = 1;
};

// The fields of one struct, read in one call: a frame walk reads several
// fields of each of up to 8192 frames, and one cached read costs about what
// five do. The offsets may come from the target (_Py_DebugOffsets), so a span
// that is not small falls back to reading field by field.
class StructImage {
 public:
  static constexpr std::uint64_t kMaxSpan = 256;

  // `fields`: {offset, size}; kAbsent offsets are left out.
  StructImage(std::initializer_list<std::pair<std::uint64_t, std::uint64_t>> fields) {
    for (auto [offset, size] : fields) {
      if (offset == kAbsent || offset > kMaxSpan || size > kMaxSpan) continue;
      lo_ = std::min(lo_, offset);
      hi_ = std::max(hi_, offset + size);
    }
  }
  // Reads the span at `base`. When that fails (or the span is too wide),
  // get() reads each field on its own, so a field fails exactly as it would
  // have without the image.
  void load(const RemoteMemory& memory, RemoteAddr base) {
    base_ = base;
    loaded_ = lo_ < hi_ && hi_ - lo_ <= kMaxSpan &&
              memory.read(base + lo_, std::span(bytes_.data(), hi_ - lo_));
  }
  // A field inside the span loaded, else read from `memory`.
  template <class T>
  Result<T> get(const RemoteMemory& memory, std::uint64_t offset) const {
    if (offset == kAbsent)
      return fail(ErrorCode::kInternal, "read of a field this version does not have");
    if (loaded_ && offset >= lo_ && offset + sizeof(T) <= hi_) {
      T value;
      std::memcpy(&value, bytes_.data() + (offset - lo_), sizeof(T));
      return value;
    }
    return memory.read_value<T>(base_ + offset);
  }

 private:
  std::uint64_t lo_ = kAbsent, hi_ = 0;
  RemoteAddr base_;
  bool loaded_ = false;
  std::array<std::byte, kMaxSpan> bytes_;  // [lo_, hi_) once loaded
};

// One frame of <=3.10: a PyFrameObject, names and line left to decode_frames.
// `image` holds the frame's fields.
PythonStack::RawFrame read_frame_object(const RemoteMemory& memory, const Offsets& o,
                                        RemoteAddr frame, const StructImage& image,
                                        CodeCache& codes) {
  PythonStack::RawFrame raw;
  raw.address = frame;
  auto code = image.get<std::uint64_t>(memory, o.frame_object.f_code);
  auto lasti = image.get<std::int32_t>(memory, o.frame_object.f_lasti);
  auto lineno = image.get<std::int32_t>(memory, o.frame_object.f_lineno);
  auto trace = image.get<std::uint64_t>(memory, o.frame_object.f_trace);
  if (!code || !lasti || !lineno || !trace) return raw;
  raw.code = RemoteAddr(*code);
  const auto& info = codes.get(memory, o, raw.code);
  if (!info.readable) return raw;
  raw.readable = true;
  // PyFrame_GetLineNumber: while tracing, f_lineno is kept current (3.8/3.9:
  // when f_trace is set; 3.10: whenever f_lineno is non-zero).
  bool tracing = o.version.at_least(3, 10) ? *lineno != 0 : *trace != 0;
  if (tracing) {
    raw.line = *lineno;
  } else {
    int addrq = o.version.at_least(3, 10) ? *lasti * 2 : *lasti;
    if (addrq < 0) raw.line = info.firstlineno;
    raw.format = o.version.at_least(3, 10) ? LineTableFormat::kLinetable310
                                           : LineTableFormat::kLnotab;
    raw.addrq = addrq;
  }
  return raw;
}

struct InterpreterFrame {
  RemoteAddr code;
  RemoteAddr previous;
  RemoteAddr instr;
  bool is_entry = false;
  FrameOwner owner = FrameOwner::kThread;
};

StructImage interpreter_frame_image(const Offsets& o) {
  return StructImage{{o.iframe.code, 8},
                     {o.iframe.previous, 8},
                     {o.iframe.instr, 8},
                     {o.iframe.owner, 1},
                     {o.iframe.is_entry, 1}};
}

// `image`: from interpreter_frame_image, reused from frame to frame.
Result<InterpreterFrame> read_interpreter_frame(const RemoteMemory& memory, const Offsets& o,
                                                RemoteAddr frame, StructImage& image) {
  image.load(memory, frame);
  InterpreterFrame f;
  f.code = RemoteAddr(PYATTACH_TRY(image.get<std::uint64_t>(memory, o.iframe.code)));
  f.previous = RemoteAddr(PYATTACH_TRY(image.get<std::uint64_t>(memory, o.iframe.previous)));
  f.instr = RemoteAddr(PYATTACH_TRY(image.get<std::uint64_t>(memory, o.iframe.instr)));
  f.owner = static_cast<FrameOwner>(PYATTACH_TRY(image.get<std::uint8_t>(memory, o.iframe.owner)));
  if (o.iframe.is_entry != kAbsent)
    f.is_entry = PYATTACH_TRY(image.get<std::uint8_t>(memory, o.iframe.is_entry)) != 0;
  return f;
}

PythonStack read_stack_310(const RemoteMemory& memory, const Offsets& o,
                           RemoteAddr tstate, CodeCache& codes, std::size_t max_frames) {
  PythonStack stack;
  auto top = read_ptr_field(memory, tstate, o.tstate.frame);
  if (!top) {
    stack.warnings.push_back("unreadable thread state");
    return stack;
  }
  LoopCheck loop;
  StructImage image{{o.frame_object.f_back, 8},
                    {o.frame_object.f_code, 8},
                    {o.frame_object.f_lasti, 4},
                    {o.frame_object.f_lineno, 4},
                    {o.frame_object.f_trace, 8}};
  for (RemoteAddr f = *top; f; ) {
    if (stack.raw.size() >= max_frames) {
      stack.warnings.push_back(fmt::format("stopped after {} Python frames", max_frames));
      break;
    }
    if (loop.seen(f)) {
      stack.warnings.push_back("the frame chain loops; stopped");
      break;
    }
    image.load(memory, f);
    stack.segments.push_back({stack.raw.size(), 1, RemoteAddr()});
    stack.raw.push_back(read_frame_object(memory, o, f, image, codes));
    auto back = image.get<std::uint64_t>(memory, o.frame_object.f_back);
    if (!back) {
      stack.warnings.push_back(fmt::format("unreadable f_back of frame {:#x}", f.as_int()));
      break;
    }
    f = RemoteAddr(*back);
  }
  return stack;
}

PythonStack read_stack_311_plus(const RemoteMemory& memory, const Offsets& o,
                                RemoteAddr tstate, CodeCache& codes,
                                std::size_t max_frames) {
  PythonStack stack;
  const bool v311 = o.version.is(3, 11);
  const bool has_shims = o.version.at_least(3, 12);
  RemoteAddr cframe;  // 3.11/3.12: the _PyCFrame of the innermost eval call
  RemoteAddr first;
  if (o.tstate.current_frame != kAbsent) {
    auto f = read_ptr_field(memory, tstate, o.tstate.current_frame);
    if (!f) {
      stack.warnings.push_back("unreadable thread state");
      return stack;
    }
    first = *f;
  } else {
    auto c = read_ptr_field(memory, tstate, o.tstate.cframe);
    auto f = c ? read_ptr_field(memory, *c, o.cframe.current_frame) : c;
    if (!c || !f) {
      stack.warnings.push_back("unreadable thread state or _PyCFrame");
      return stack;
    }
    cframe = *c;
    first = *f;
  }

  PythonStack::Segment segment{0, 0, v311 ? cframe : RemoteAddr()};
  LoopCheck loop;
  StructImage image = interpreter_frame_image(o);
  std::size_t visited = 0;
  for (RemoteAddr addr = first; addr;) {
    if (++visited > max_frames) {
      stack.warnings.push_back(fmt::format("stopped after {} Python frames", max_frames));
      break;
    }
    if (loop.seen(addr)) {
      stack.warnings.push_back("the frame chain loops; stopped");
      break;
    }
    auto f = read_interpreter_frame(memory, o, addr, image);
    if (!f) {
      PythonStack::RawFrame unreadable;
      unreadable.address = addr;
      stack.raw.push_back(unreadable);
      ++segment.count;
      stack.warnings.push_back(
          fmt::format("unreadable {} at {:#x}", format_version_note(o), addr.as_int()));
      break;
    }
    if (has_shims && f->owner == FrameOwner::kCStack) {
      // The entry shim of one eval call: it lives on that call's C stack and
      // ends the segment of frames the call runs.
      segment.c_stack_marker = addr;
      stack.segments.push_back(segment);
      segment = {stack.raw.size(), 0, RemoteAddr()};
      addr = f->previous;
      continue;
    }
    const auto& info = codes.get(memory, o, f->code);
    RemoteAddr first_instr = f->code + o.code.code_adaptive;
    // _PyFrame_IsIncomplete: a frame that has not reached its first traceable
    // instruction is not shown by CPython (tracebacks, sys._current_frames).
    bool incomplete = info.readable && f->owner != FrameOwner::kGenerator &&
                      f->instr < first_instr + 2 * static_cast<std::uint64_t>(
                                                       std::max(info.firsttraceable, 0));
    if (!incomplete) {
      PythonStack::RawFrame raw;
      raw.address = addr;
      raw.code = f->code;
      raw.readable = info.readable;
      if (info.readable) {
        // 3.11/3.12 point at the last started instruction, 3.13 at the current one;
        // either way PyCode_Addr2Line takes the byte offset from the first unit.
        std::int64_t addrq =
            static_cast<std::int64_t>(f->instr.as_int() - first_instr.as_int());
        if (addrq < 0) raw.line = info.firstlineno;
        raw.format = LineTableFormat::kLocationTable;
        raw.addrq = static_cast<int>(std::min<std::int64_t>(addrq, 1 << 30));
      }
      stack.raw.push_back(raw);
      ++segment.count;
    }
    if (v311 && f->is_entry) {
      stack.segments.push_back(segment);
      if (cframe) {
        auto prev = read_ptr_field(memory, cframe, o.cframe.previous);
        cframe = prev ? *prev : RemoteAddr();
      }
      segment = {stack.raw.size(), 0, cframe};
    }
    addr = f->previous;
  }
  if (segment.count > 0) {
    // Frames after the last entry frame: with no marker, only order can place them.
    if (!v311) segment.c_stack_marker = RemoteAddr();
    stack.segments.push_back(segment);
  }
  return stack;
}

}  // namespace

RemoteAddr innermost_frame_address(const RemoteMemory& memory, const Offsets& o,
                                   RemoteAddr tstate) {
  Result<RemoteAddr> frame = RemoteAddr();
  if (!o.version.at_least(3, 11)) {
    frame = read_ptr_field(memory, tstate, o.tstate.frame);
  } else if (o.tstate.current_frame != kAbsent) {
    frame = read_ptr_field(memory, tstate, o.tstate.current_frame);
  } else {
    auto cframe = read_ptr_field(memory, tstate, o.tstate.cframe);
    if (cframe) frame = read_ptr_field(memory, *cframe, o.cframe.current_frame);
  }
  return frame.value_or(RemoteAddr());
}

PythonStack read_python_stack(const RemoteMemory& memory, const Offsets& offsets,
                              RemoteAddr tstate, CodeCache& codes,
                              std::size_t max_frames, bool decode) {
  PythonStack stack = offsets.version.at_least(3, 11)
                          ? read_stack_311_plus(memory, offsets, tstate, codes, max_frames)
                          : read_stack_310(memory, offsets, tstate, codes, max_frames);
  if (decode) decode_frames(stack, codes);
  return stack;
}

}  // namespace pyattach::cpython
