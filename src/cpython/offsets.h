// Where CPython's fields live in one target build, and where that knowledge
// comes from (DWARF today; a built-in table and _Py_DebugOffsets later).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "core/type_layouts.h"
#include "cpython/strings.h"
#include "cpython/version.h"

namespace pyattach::cpython {

// A field the version does not have.
inline constexpr std::uint64_t kAbsent = ~std::uint64_t{0};

// Byte offsets of every field the model reads, named after CPython's fields.
// A struct of plain numbers, so a table, DWARF or _Py_DebugOffsets can fill it.
struct Offsets {
  PythonVersion version;

  struct {
    std::uint64_t interpreters_head = kAbsent;  // _PyRuntimeState.interpreters.head
  } runtime;
  struct {
    std::uint64_t next = kAbsent;          // PyInterpreterState.next
    std::uint64_t threads_head = kAbsent;  // .tstate_head (<=3.11), .threads.head (3.12+)
  } interp;
  struct {
    std::uint64_t next = kAbsent;
    std::uint64_t interp = kAbsent;
    std::uint64_t frame = kAbsent;             // PyFrameObject* (<=3.10)
    std::uint64_t cframe = kAbsent;            // _PyCFrame* (3.11, 3.12)
    std::uint64_t current_frame = kAbsent;     // _PyInterpreterFrame* (3.13)
    std::uint64_t thread_id = kAbsent;         // pthread_t
    std::uint64_t native_thread_id = kAbsent;  // the LWP (3.11+)
  } tstate;
  struct {
    std::uint64_t current_frame = kAbsent;  // _PyCFrame.current_frame (3.11, 3.12)
    std::uint64_t previous = kAbsent;
  } cframe;
  struct {  // PyFrameObject, <=3.10
    std::uint64_t f_back = kAbsent, f_code = kAbsent, f_lasti = kAbsent,
                  f_lineno = kAbsent, f_trace = kAbsent;
  } frame_object;
  struct {  // _PyInterpreterFrame, 3.11+
    std::uint64_t code = kAbsent;      // f_code (3.11, 3.12), f_executable (3.13)
    std::uint64_t previous = kAbsent;
    std::uint64_t instr = kAbsent;     // prev_instr (3.11, 3.12), instr_ptr (3.13)
    std::uint64_t is_entry = kAbsent;  // bool, 3.11 only
    std::uint64_t owner = kAbsent;     // char
    std::uint64_t localsplus = kAbsent;
  } iframe;
  struct {  // PyCodeObject
    std::uint64_t filename = kAbsent, name = kAbsent, qualname = kAbsent,
                  firstlineno = kAbsent;
    std::uint64_t linetable = kAbsent;       // co_lnotab (<=3.9), co_linetable (3.10+)
    std::uint64_t code_adaptive = kAbsent;   // first code unit (3.11+)
    std::uint64_t firsttraceable = kAbsent;  // _co_firsttraceable (3.11+)
  } code;
  struct {
    std::uint64_t ob_type = 8;
    std::uint64_t ob_size = 16;  // PyVarObject
  } object;
  struct {
    std::uint64_t tp_name = 24;
  } type;
  struct {
    std::uint64_t m_ml = kAbsent, m_self = kAbsent;  // PyCFunctionObject
    std::uint64_t ml_name = kAbsent, ml_meth = kAbsent;  // PyMethodDef
  } cfunction;
  UnicodeLayout unicode;
  BytesLayout bytes;
};

// _PyInterpreterFrame.owner values (3.11+).
enum class FrameOwner : std::uint8_t {
  kThread = 0, kGenerator = 1, kFrameObject = 2, kCStack = 3 /* 3.12+ shim */
};

// A way to learn the Offsets of a target build.
class OffsetsSource {
 public:
  virtual ~OffsetsSource() = default;
  virtual std::string_view name() const = 0;  // "dwarf", "table", ...
  // Fails with kDebugInfo naming the first field that could not be found.
  virtual Result<Offsets> load(const PythonVersion& version) const = 0;
};

// Offsets from the target's own type descriptions (DWARF).
class TypeLayoutOffsetsSource final : public OffsetsSource {
 public:
  explicit TypeLayoutOffsetsSource(const TypeLayouts& layouts) : layouts_(layouts) {}
  std::string_view name() const override { return "dwarf"; }
  Result<Offsets> load(const PythonVersion& version) const override;

  // The type names load() asks for, so the DWARF reader can look for just these.
  static std::vector<std::string> wanted_types();

 private:
  const TypeLayouts& layouts_;
};

}  // namespace pyattach::cpython
