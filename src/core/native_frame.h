// One unwound machine frame, as plain data. Produced by attach::Unwinder,
// consumed by cpython (frame mapping) and render.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

namespace pyattach {

// x86-64 registers that a callee must preserve, recovered per frame by the
// unwinder. Their values in an outer frame can hold that frame's locals.
enum class CalleeSaved : int { rbx, rbp, r12, r13, r14, r15, count };

struct NativeFrame {
  std::uint64_t ip = 0;   // for frames above #0 the return address, as gdb shows
  std::uint64_t sp = 0;   // the frame's stack pointer
  std::uint64_t cfa = 0;  // canonical frame address: the caller's sp; 0 = unknown
  // Callee-saved registers as they were in this frame; nullopt when the unwinder
  // could not recover one.
  std::array<std::optional<std::uint64_t>, static_cast<int>(CalleeSaved::count)>
      callee_saved{};
  // The first address of the function this frame runs, from its unwind entry
  // (.eh_frame FDE): known without symbols, so a stripped binary's static
  // functions can still be compared with function pointers. nullopt if unknown.
  std::optional<std::uint64_t> function_start;

  // Does a local at addr live in this frame? Locals sit in [sp, cfa).
  bool holds_stack_address(std::uint64_t addr) const {
    return cfa != 0 && addr >= sp && addr < cfa;
  }
  // The address to symbolise: a return address points after the call, which
  // may be the first byte of the next function, so look up ip - 1 for callers.
  std::uint64_t lookup_pc(bool is_innermost) const {
    return is_innermost ? ip : ip - 1;
  }
};

}  // namespace pyattach
