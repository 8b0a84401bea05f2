// Builds small CPython object graphs in a FakeMemory, for a synthetic layout
// described by an Offsets value: the walker code is layout-agnostic, so tests
// can lay objects out wherever they like.
#pragma once

#include <cstdint>
#include <string_view>

#include "cpython/offsets.h"
#include "support/fake_memory.h"

namespace pyattach::testing {

class PythonImage {
 public:
  // A 1 MiB heap at 0x10000000; objects are bump-allocated in it.
  explicit PythonImage(const cpython::Offsets& offsets) : offsets_(offsets) {
    memory.add_region(kHeap, kHeapSize);
  }

  std::uint64_t alloc(std::size_t size) {
    std::uint64_t at = next_;
    next_ += (size + 15) & ~std::size_t{15};
    if (next_ > kHeap + kHeapSize) throw std::length_error("PythonImage heap full");
    return at;
  }
  void put_u64(std::uint64_t addr, std::uint64_t v) { memory.write_value(addr, v); }
  void put_i32(std::uint64_t addr, std::int32_t v) { memory.write_value(addr, v); }
  void put_u8(std::uint64_t addr, std::uint8_t v) { memory.write_value(addr, v); }

  // A compact ASCII str.
  std::uint64_t str(std::string_view s) {
    const auto& u = offsets_.unicode;
    std::uint64_t obj = alloc(u.ascii_size + s.size() + 1);
    put_u64(obj + u.length_offset, s.size());
    std::uint32_t state = (1u << u.kind_shift) | (1u << u.compact_shift) |
                          (1u << u.ascii_shift) | (1u << 7);  // ready (<=3.11)
    memory.write_value(obj + u.state_offset, state);
    memory.write_bytes(obj + u.ascii_size, s);
    return obj;
  }
  std::uint64_t bytes(std::string_view s) {
    std::uint64_t obj = alloc(offsets_.bytes.sval_offset + s.size() + 1);
    put_u64(obj + offsets_.bytes.size_offset, s.size());
    memory.write_bytes(obj + offsets_.bytes.sval_offset, s);
    return obj;
  }
  // A code object with the given names and line table; room for 64 code units.
  std::uint64_t code(std::string_view filename, std::string_view name, int firstlineno,
                     std::string_view linetable, int firsttraceable = 0) {
    const auto& c = offsets_.code;
    std::uint64_t obj = alloc(512);
    put_u64(obj + c.filename, str(filename));
    put_u64(obj + c.name, str(name));
    if (c.qualname != cpython::kAbsent) put_u64(obj + c.qualname, str(name));
    put_i32(obj + c.firstlineno, firstlineno);
    put_u64(obj + c.linetable, bytes(linetable));
    if (c.firsttraceable != cpython::kAbsent) put_i32(obj + c.firsttraceable, firsttraceable);
    return obj;
  }

  FakeMemory memory;
  static constexpr std::uint64_t kHeap = 0x10000000;
  static constexpr std::size_t kHeapSize = 1 << 20;

 private:
  cpython::Offsets offsets_;
  std::uint64_t next_ = kHeap;
};

// A compact synthetic layout in the style of each version family.
inline cpython::Offsets synthetic_offsets(int minor) {
  cpython::Offsets o;
  o.version = {3, minor, 0};
  o.runtime.interpreters_head = 40;
  o.interp.next = 0;
  o.interp.threads_head = 8;
  o.tstate.next = 8;
  o.tstate.interp = 16;
  o.tstate.thread_id = 32;
  o.unicode.length_offset = 16;
  o.unicode.state_offset = 32;
  o.unicode.ascii_size = 40;
  o.unicode.compact_size = 56;
  o.bytes.size_offset = 16;
  o.bytes.sval_offset = 32;
  o.code.filename = 104;
  o.code.name = 112;
  o.code.firstlineno = 48;
  o.code.linetable = 120;
  if (minor <= 10) {
    o.tstate.frame = 24;
    o.frame_object.f_back = 24;
    o.frame_object.f_code = 32;
    o.frame_object.f_lasti = 96;
    o.frame_object.f_lineno = 100;
    o.frame_object.f_trace = 40;
  } else {
    o.tstate.native_thread_id = 40;
    if (minor >= 13) {
      o.tstate.current_frame = 48;
    } else {
      o.tstate.cframe = 56;
      o.cframe.current_frame = 8;
      o.cframe.previous = 16;
    }
    o.iframe.code = 0;
    o.iframe.previous = 8;
    o.iframe.instr = 56;
    o.iframe.owner = 70;
    if (minor == 11) o.iframe.is_entry = 68;
    o.iframe.localsplus = 72;
    o.code.qualname = 128;
    o.code.code_adaptive = 200;
    o.code.firsttraceable = 136;
  }
  return o;
}

}  // namespace pyattach::testing
