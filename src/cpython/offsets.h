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
    std::uint64_t threads_head = kAbsent;  // .tstate_head (<=3.10), .threads.head (3.11+)
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

  // --- The value layer (values.h). These are optional: load() leaves a field
  // it cannot find kAbsent, and objects that need it then print as
  // <TYPE at remote 0x...> instead of failing the whole snapshot.
  struct {  // PyTypeObject beyond tp_name, and PyHeapTypeObject
    std::uint64_t tp_basicsize = kAbsent, tp_itemsize = kAbsent, tp_flags = kAbsent,
                  tp_dictoffset = kAbsent;
    std::uint64_t ht_cached_keys = kAbsent;  // PyHeapTypeObject, 3.11+
  } type_slots;
  struct {  // PyLongObject
    std::uint64_t ob_digit = kAbsent;  // .ob_digit (<=3.11), .long_value.ob_digit (3.12+)
    std::uint64_t lv_tag = kAbsent;    // .long_value.lv_tag (3.12+); <=3.11 use ob_size
  } long_object;
  struct {
    std::uint64_t ob_fval = kAbsent;                     // PyFloatObject
    std::uint64_t cval_real = kAbsent, cval_imag = kAbsent;  // PyComplexObject.cval
  } number;
  struct {
    std::uint64_t list_ob_item = kAbsent;   // PyListObject.ob_item (PyObject**)
    std::uint64_t tuple_ob_item = kAbsent;  // PyTupleObject.ob_item (inline array)
    std::uint64_t bytearray_ob_start = kAbsent;  // PyByteArrayObject.ob_start
  } sequence;
  struct {  // PyDictObject
    std::uint64_t ma_used = kAbsent, ma_keys = kAbsent, ma_values = kAbsent;
  } dict;
  struct {  // PyDictKeysObject (struct _dictkeysobject)
    std::uint64_t dk_size = kAbsent;              // <=3.10
    std::uint64_t dk_log2_size = kAbsent;         // 3.11+ (uint8)
    std::uint64_t dk_log2_index_bytes = kAbsent;  // 3.11+ (uint8)
    std::uint64_t dk_kind = kAbsent;              // 3.11+ (uint8)
    std::uint64_t dk_nentries = kAbsent, dk_indices = kAbsent;
  } dict_keys;
  struct {  // PyDictKeyEntry; PyDictUnicodeEntry (3.11+)
    std::uint64_t size = kAbsent, me_key = kAbsent, me_value = kAbsent;
    std::uint64_t unicode_size = kAbsent, unicode_me_key = kAbsent,
                  unicode_me_value = kAbsent;
  } dict_entry;
  struct {  // PyDictValues, 3.11+
    std::uint64_t values = kAbsent;
    std::uint64_t valid = kAbsent;  // 3.13: inline values still in use
  } dict_values;
  struct {  // PySetObject and setentry
    std::uint64_t used = kAbsent, mask = kAbsent, table = kAbsent;
    std::uint64_t entry_size = kAbsent, entry_key = kAbsent;
  } set;
  struct {
    std::uint64_t exc_args = kAbsent;  // PyBaseExceptionObject.args
    std::uint64_t func_name = kAbsent, func_qualname = kAbsent;  // PyFunctionObject
    std::uint64_t im_func = kAbsent, im_self = kAbsent;          // PyMethodObject
    std::uint64_t md_name = kAbsent;                             // PyModuleObject
    std::uint64_t cell_ob_ref = kAbsent;                         // PyCellObject
    // method-wrapper: wrapperobject.descr/.self, PyWrapperDescrObject.d_base,
    // struct wrapperbase.name
    std::uint64_t wrapper_descr = kAbsent, wrapper_self = kAbsent,
                  descr_d_base = kAbsent, wrapperbase_name = kAbsent;
  } misc;
  struct {  // a frame's variables
    // PyFrameObject, <=3.10
    std::uint64_t f_localsplus = kAbsent, f_globals = kAbsent, f_builtins = kAbsent;
    std::uint64_t f_frame = kAbsent;  // PyFrameObject -> _PyInterpreterFrame, 3.11+
    // _PyInterpreterFrame, 3.11+
    std::uint64_t iframe_globals = kAbsent, iframe_builtins = kAbsent;
    // PyCodeObject
    std::uint64_t co_nlocals = kAbsent;
    std::uint64_t co_varnames = kAbsent, co_cellvars = kAbsent,
                  co_freevars = kAbsent;  // <=3.10
    std::uint64_t co_localsplusnames = kAbsent, co_localspluskinds = kAbsent,
                  co_nlocalsplus = kAbsent;  // 3.11+
  } frame_vars;
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
