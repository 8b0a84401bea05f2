// CPython 3.13's _Py_DebugOffsets: the offsets a build publishes about itself
// at the start of _PyRuntime, for tools without debug info.
#pragma once

#include <cstdint>

#include "core/remote_memory.h"
#include "cpython/offsets.h"

namespace pyattach::cpython {

namespace py313 {
// Include/internal/pycore_runtime.h of v3.13.0, verbatim but for the
// reserved leading underscores. Every `size` is sizeof the struct described.
struct DebugOffsets {
  char cookie[8];  // "xdebugpy"
  std::uint64_t version;  // PY_VERSION_HEX
  std::uint64_t free_threaded;
  struct runtime_state {
    std::uint64_t size, finalizing, interpreters_head;
  } runtime_state;
  struct interpreter_state {
    std::uint64_t size, id, next, threads_head, gc, imports_modules, sysdict, builtins,
        ceval_gil, gil_runtime_state, gil_runtime_state_enabled, gil_runtime_state_locked,
        gil_runtime_state_holder;
  } interpreter_state;
  struct thread_state {
    std::uint64_t size, prev, next, interp, current_frame, thread_id, native_thread_id,
        datastack_chunk, status;
  } thread_state;
  struct interpreter_frame {
    std::uint64_t size, previous, executable, instr_ptr, localsplus, owner;
  } interpreter_frame;
  struct code_object {
    std::uint64_t size, filename, name, qualname, linetable, firstlineno, argcount,
        localsplusnames, localspluskinds, co_code_adaptive;
  } code_object;
  struct pyobject {
    std::uint64_t size, ob_type;
  } pyobject;
  struct type_object {
    std::uint64_t size, tp_name, tp_repr, tp_flags;
  } type_object;
  struct tuple_object {
    std::uint64_t size, ob_item, ob_size;
  } tuple_object;
  struct list_object {
    std::uint64_t size, ob_item, ob_size;
  } list_object;
  struct dict_object {
    std::uint64_t size, ma_keys, ma_values;
  } dict_object;
  struct float_object {
    std::uint64_t size, ob_fval;
  } float_object;
  struct long_object {
    std::uint64_t size, lv_tag, ob_digit;
  } long_object;
  struct bytes_object {
    std::uint64_t size, ob_size, ob_sval;
  } bytes_object;
  struct unicode_object {
    std::uint64_t size, state, length, asciiobject_size;
  } unicode_object;
  struct gc {
    std::uint64_t size, collecting;
  } gc;
};
static_assert(sizeof(DebugOffsets) == 8 * 73);
}  // namespace py313

// The largest struct size a valid header may claim (_PyRuntimeState is the
// biggest, well under this).
inline constexpr std::uint64_t kMaxDebugOffsetsStructSize = std::uint64_t{1} << 24;

// Checks a header read from a target of version `version`: the cookie, the
// version (major and minor must match; 3.13 only), a default (not
// free-threaded) build, every struct size in (0, kMaxDebugOffsetsStructSize],
// and every offset inside its struct. Fails with kCorruptData (or
// kUnsupportedVersion for a free-threaded build), naming the first problem.
Result<void> validate_debug_offsets(const py313::DebugOffsets& header,
                                    const PythonVersion& version);

// Writes the fields `header` covers into `out`; the others are left alone.
void apply_debug_offsets(const py313::DebugOffsets& header, Offsets& out);

// Offsets from the target's _Py_DebugOffsets (3.13), completed by `fallback`
// (normally the built-in table) for what the header does not cover: dict
// internals, tp_dictoffset, frame globals, ... Fields where the header and
// the fallback disagree are logged as warnings (logger "cpython"); the
// header wins. load() reads target memory: the process must be stopped or the
// header must be immutable (it is: written once at startup). Fails with
// kUnsupportedVersion before 3.13, kBadRemoteAddress when the header cannot
// be read, kCorruptData when it does not validate, or the fallback's error.
class DebugOffsetsSource final : public OffsetsSource {
 public:
  DebugOffsetsSource(const RemoteMemory& memory, RemoteAddr runtime,
                     const OffsetsSource& fallback)
      : memory_(memory), runtime_(runtime), fallback_(fallback) {}
  std::string_view name() const override { return "debug-offsets"; }
  Result<Offsets> load(const PythonVersion& version) const override;

 private:
  const RemoteMemory& memory_;
  RemoteAddr runtime_;
  const OffsetsSource& fallback_;
};

}  // namespace pyattach::cpython
