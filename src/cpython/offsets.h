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
    std::uint64_t vectorcall = kAbsent;  // PyCFunctionObject.vectorcall: its trampoline
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
    std::uint64_t tp_call = kAbsent;  // proves a cfunction_call frame (stripped builds)
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
  struct {  // a frame's value stack and with-blocks, for lock holders (locks.h)
    std::uint64_t co_stacksize = kAbsent;       // PyCodeObject (int)
    std::uint64_t co_code = kAbsent;            // PyCodeObject, bytes (<=3.10)
    std::uint64_t co_exceptiontable = kAbsent;  // PyCodeObject, bytes (3.11+)
    // PyFrameObject, <=3.10
    std::uint64_t f_valuestack = kAbsent, f_iblock = kAbsent, f_blockstack = kAbsent;
    // PyTryBlock, <=3.10 (ints)
    std::uint64_t try_block_size = kAbsent, b_type = kAbsent, b_handler = kAbsent,
                  b_level = kAbsent;
  } value_stack;
  struct {  // _thread.lock (lockobject) and _thread.RLock (rlockobject)
    std::uint64_t lock_lock = kAbsent;  // PyThread_type_lock (a sem_t* on Linux)
    std::uint64_t locked = kAbsent;     // char
    std::uint64_t rlock_lock = kAbsent;
    std::uint64_t rlock_owner = kAbsent;  // PyThread_get_thread_ident() of the owner
    std::uint64_t rlock_count = kAbsent;
  } thread_lock;
  // --- The GIL (thread state). Optional like the value layer: without it a
  // thread's relation to the GIL is "unknown".
  struct {
    std::uint64_t runtime_gil = kAbsent;  // _PyRuntimeState.ceval.gil: the struct (<=3.11)
    std::uint64_t interp_gil = kAbsent;   // PyInterpreterState.ceval.gil: a pointer (3.12+)
    // struct _gil_runtime_state. The condition variables' futex words lie in
    // [cond, mutex) and [switch_cond, switch_mutex).
    std::uint64_t locked = kAbsent, last_holder = kAbsent;
    std::uint64_t cond = kAbsent, mutex = kAbsent, switch_cond = kAbsent,
                  switch_mutex = kAbsent;
  } gil;
};

// Visits every field of `o` but `version`, in declaration order, as
// f(std::string_view name, auto& field), where name is "<sub-struct>.<field>"
// ("tstate.current_frame", "unicode.kind_shift") and field is a std::uint64_t
// or, for the unicode bit positions, an int. Works on const Offsets too. The
// only list of Offsets' fields: comparing, printing and the built-in table
// (offsets_table.h) go through it, so a field added to Offsets must be added
// here (a test checks that the count matches the struct's size).
template <class O, class F>
void for_each_field(O& o, F&& f) {
#define PYATTACH_OFFSETS_FIELD(group, field) f(#group "." #field, o.group.field)
  PYATTACH_OFFSETS_FIELD(runtime, interpreters_head);
  PYATTACH_OFFSETS_FIELD(interp, next);
  PYATTACH_OFFSETS_FIELD(interp, threads_head);
  PYATTACH_OFFSETS_FIELD(tstate, next);
  PYATTACH_OFFSETS_FIELD(tstate, interp);
  PYATTACH_OFFSETS_FIELD(tstate, frame);
  PYATTACH_OFFSETS_FIELD(tstate, cframe);
  PYATTACH_OFFSETS_FIELD(tstate, current_frame);
  PYATTACH_OFFSETS_FIELD(tstate, thread_id);
  PYATTACH_OFFSETS_FIELD(tstate, native_thread_id);
  PYATTACH_OFFSETS_FIELD(cframe, current_frame);
  PYATTACH_OFFSETS_FIELD(cframe, previous);
  PYATTACH_OFFSETS_FIELD(frame_object, f_back);
  PYATTACH_OFFSETS_FIELD(frame_object, f_code);
  PYATTACH_OFFSETS_FIELD(frame_object, f_lasti);
  PYATTACH_OFFSETS_FIELD(frame_object, f_lineno);
  PYATTACH_OFFSETS_FIELD(frame_object, f_trace);
  PYATTACH_OFFSETS_FIELD(iframe, code);
  PYATTACH_OFFSETS_FIELD(iframe, previous);
  PYATTACH_OFFSETS_FIELD(iframe, instr);
  PYATTACH_OFFSETS_FIELD(iframe, is_entry);
  PYATTACH_OFFSETS_FIELD(iframe, owner);
  PYATTACH_OFFSETS_FIELD(iframe, localsplus);
  PYATTACH_OFFSETS_FIELD(code, filename);
  PYATTACH_OFFSETS_FIELD(code, name);
  PYATTACH_OFFSETS_FIELD(code, qualname);
  PYATTACH_OFFSETS_FIELD(code, firstlineno);
  PYATTACH_OFFSETS_FIELD(code, linetable);
  PYATTACH_OFFSETS_FIELD(code, code_adaptive);
  PYATTACH_OFFSETS_FIELD(code, firsttraceable);
  PYATTACH_OFFSETS_FIELD(object, ob_type);
  PYATTACH_OFFSETS_FIELD(object, ob_size);
  PYATTACH_OFFSETS_FIELD(type, tp_name);
  PYATTACH_OFFSETS_FIELD(cfunction, m_ml);
  PYATTACH_OFFSETS_FIELD(cfunction, m_self);
  PYATTACH_OFFSETS_FIELD(cfunction, ml_name);
  PYATTACH_OFFSETS_FIELD(cfunction, ml_meth);
  PYATTACH_OFFSETS_FIELD(cfunction, vectorcall);
  PYATTACH_OFFSETS_FIELD(unicode, length_offset);
  PYATTACH_OFFSETS_FIELD(unicode, state_offset);
  PYATTACH_OFFSETS_FIELD(unicode, ascii_size);
  PYATTACH_OFFSETS_FIELD(unicode, compact_size);
  PYATTACH_OFFSETS_FIELD(unicode, legacy_data_offset);
  PYATTACH_OFFSETS_FIELD(unicode, kind_shift);
  PYATTACH_OFFSETS_FIELD(unicode, compact_shift);
  PYATTACH_OFFSETS_FIELD(unicode, ascii_shift);
  PYATTACH_OFFSETS_FIELD(bytes, size_offset);
  PYATTACH_OFFSETS_FIELD(bytes, sval_offset);
  PYATTACH_OFFSETS_FIELD(type_slots, tp_call);
  PYATTACH_OFFSETS_FIELD(type_slots, tp_basicsize);
  PYATTACH_OFFSETS_FIELD(type_slots, tp_itemsize);
  PYATTACH_OFFSETS_FIELD(type_slots, tp_flags);
  PYATTACH_OFFSETS_FIELD(type_slots, tp_dictoffset);
  PYATTACH_OFFSETS_FIELD(type_slots, ht_cached_keys);
  PYATTACH_OFFSETS_FIELD(long_object, ob_digit);
  PYATTACH_OFFSETS_FIELD(long_object, lv_tag);
  PYATTACH_OFFSETS_FIELD(number, ob_fval);
  PYATTACH_OFFSETS_FIELD(number, cval_real);
  PYATTACH_OFFSETS_FIELD(number, cval_imag);
  PYATTACH_OFFSETS_FIELD(sequence, list_ob_item);
  PYATTACH_OFFSETS_FIELD(sequence, tuple_ob_item);
  PYATTACH_OFFSETS_FIELD(sequence, bytearray_ob_start);
  PYATTACH_OFFSETS_FIELD(dict, ma_used);
  PYATTACH_OFFSETS_FIELD(dict, ma_keys);
  PYATTACH_OFFSETS_FIELD(dict, ma_values);
  PYATTACH_OFFSETS_FIELD(dict_keys, dk_size);
  PYATTACH_OFFSETS_FIELD(dict_keys, dk_log2_size);
  PYATTACH_OFFSETS_FIELD(dict_keys, dk_log2_index_bytes);
  PYATTACH_OFFSETS_FIELD(dict_keys, dk_kind);
  PYATTACH_OFFSETS_FIELD(dict_keys, dk_nentries);
  PYATTACH_OFFSETS_FIELD(dict_keys, dk_indices);
  PYATTACH_OFFSETS_FIELD(dict_entry, size);
  PYATTACH_OFFSETS_FIELD(dict_entry, me_key);
  PYATTACH_OFFSETS_FIELD(dict_entry, me_value);
  PYATTACH_OFFSETS_FIELD(dict_entry, unicode_size);
  PYATTACH_OFFSETS_FIELD(dict_entry, unicode_me_key);
  PYATTACH_OFFSETS_FIELD(dict_entry, unicode_me_value);
  PYATTACH_OFFSETS_FIELD(dict_values, values);
  PYATTACH_OFFSETS_FIELD(dict_values, valid);
  PYATTACH_OFFSETS_FIELD(set, used);
  PYATTACH_OFFSETS_FIELD(set, mask);
  PYATTACH_OFFSETS_FIELD(set, table);
  PYATTACH_OFFSETS_FIELD(set, entry_size);
  PYATTACH_OFFSETS_FIELD(set, entry_key);
  PYATTACH_OFFSETS_FIELD(misc, exc_args);
  PYATTACH_OFFSETS_FIELD(misc, func_name);
  PYATTACH_OFFSETS_FIELD(misc, func_qualname);
  PYATTACH_OFFSETS_FIELD(misc, im_func);
  PYATTACH_OFFSETS_FIELD(misc, im_self);
  PYATTACH_OFFSETS_FIELD(misc, md_name);
  PYATTACH_OFFSETS_FIELD(misc, cell_ob_ref);
  PYATTACH_OFFSETS_FIELD(misc, wrapper_descr);
  PYATTACH_OFFSETS_FIELD(misc, wrapper_self);
  PYATTACH_OFFSETS_FIELD(misc, descr_d_base);
  PYATTACH_OFFSETS_FIELD(misc, wrapperbase_name);
  PYATTACH_OFFSETS_FIELD(frame_vars, f_localsplus);
  PYATTACH_OFFSETS_FIELD(frame_vars, f_globals);
  PYATTACH_OFFSETS_FIELD(frame_vars, f_builtins);
  PYATTACH_OFFSETS_FIELD(frame_vars, f_frame);
  PYATTACH_OFFSETS_FIELD(frame_vars, iframe_globals);
  PYATTACH_OFFSETS_FIELD(frame_vars, iframe_builtins);
  PYATTACH_OFFSETS_FIELD(frame_vars, co_nlocals);
  PYATTACH_OFFSETS_FIELD(frame_vars, co_varnames);
  PYATTACH_OFFSETS_FIELD(frame_vars, co_cellvars);
  PYATTACH_OFFSETS_FIELD(frame_vars, co_freevars);
  PYATTACH_OFFSETS_FIELD(frame_vars, co_localsplusnames);
  PYATTACH_OFFSETS_FIELD(frame_vars, co_localspluskinds);
  PYATTACH_OFFSETS_FIELD(frame_vars, co_nlocalsplus);
  PYATTACH_OFFSETS_FIELD(value_stack, co_stacksize);
  PYATTACH_OFFSETS_FIELD(value_stack, co_code);
  PYATTACH_OFFSETS_FIELD(value_stack, co_exceptiontable);
  PYATTACH_OFFSETS_FIELD(value_stack, f_valuestack);
  PYATTACH_OFFSETS_FIELD(value_stack, f_iblock);
  PYATTACH_OFFSETS_FIELD(value_stack, f_blockstack);
  PYATTACH_OFFSETS_FIELD(value_stack, try_block_size);
  PYATTACH_OFFSETS_FIELD(value_stack, b_type);
  PYATTACH_OFFSETS_FIELD(value_stack, b_handler);
  PYATTACH_OFFSETS_FIELD(value_stack, b_level);
  PYATTACH_OFFSETS_FIELD(thread_lock, lock_lock);
  PYATTACH_OFFSETS_FIELD(thread_lock, locked);
  PYATTACH_OFFSETS_FIELD(thread_lock, rlock_lock);
  PYATTACH_OFFSETS_FIELD(thread_lock, rlock_owner);
  PYATTACH_OFFSETS_FIELD(thread_lock, rlock_count);
  PYATTACH_OFFSETS_FIELD(gil, runtime_gil);
  PYATTACH_OFFSETS_FIELD(gil, interp_gil);
  PYATTACH_OFFSETS_FIELD(gil, locked);
  PYATTACH_OFFSETS_FIELD(gil, last_holder);
  PYATTACH_OFFSETS_FIELD(gil, cond);
  PYATTACH_OFFSETS_FIELD(gil, mutex);
  PYATTACH_OFFSETS_FIELD(gil, switch_cond);
  PYATTACH_OFFSETS_FIELD(gil, switch_mutex);
#undef PYATTACH_OFFSETS_FIELD
}

// One field where two Offsets differ; values as unsigned (kAbsent stays kAbsent).
struct OffsetsDifference {
  std::string field;
  std::uint64_t left = 0, right = 0;
};
// Every field where `a` and `b` differ, in declaration order (version ignored).
std::vector<OffsetsDifference> compare_offsets(const Offsets& a, const Offsets& b);
// "24", "kAbsent": how the table and the logs write a field value.
std::string format_field_value(std::uint64_t value);

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

  // The type names load() asks for on `version`, so the DWARF reader can look
  // for just these. Names the version does not define are left out: each one
  // would cost a walk of every compile unit (the reader cannot tell "not
  // defined" from "not reached yet").
  static std::vector<std::string> wanted_types(const PythonVersion& version);
  // The compile units that define types private to one source file, for
  // DwarfLayouts::load's unit_hints.
  static std::vector<std::pair<std::string, std::string>> unit_hints();

 private:
  const TypeLayouts& layouts_;
};

}  // namespace pyattach::cpython
