#include "cpython/offsets.h"

#include <fmt/format.h>

#include "core/log.h"

namespace pyattach::cpython {
namespace {

// The value layer's fields: each one is optional (see Offsets). What is
// missing is logged once per load, at debug level.
void load_value_offsets(const TypeLayouts& layouts, Offsets& o) {
  const PythonVersion& v = o.version;
  std::vector<std::string> absent;
  auto want = [&](std::uint64_t& out, std::string_view type, std::string_view path) {
    if (auto off = layouts.offset_of(type, path))
      out = *off;
    else
      absent.push_back(fmt::format("{}.{}", type, path));
  };
  auto want_size = [&](std::uint64_t& out, std::string_view type) {
    if (auto size = layouts.size_of(type))
      out = *size;
    else
      absent.push_back(fmt::format("sizeof({})", type));
  };

  want(o.type_slots.tp_call, "PyTypeObject", "tp_call");
  want(o.type_slots.tp_basicsize, "PyTypeObject", "tp_basicsize");
  want(o.cfunction.vectorcall, "PyCFunctionObject", "vectorcall");
  want(o.type_slots.tp_itemsize, "PyTypeObject", "tp_itemsize");
  want(o.type_slots.tp_flags, "PyTypeObject", "tp_flags");
  want(o.type_slots.tp_dictoffset, "PyTypeObject", "tp_dictoffset");
  if (v.at_least(3, 12)) {
    want(o.long_object.ob_digit, "PyLongObject", "long_value.ob_digit");
    want(o.long_object.lv_tag, "PyLongObject", "long_value.lv_tag");
  } else {
    want(o.long_object.ob_digit, "PyLongObject", "ob_digit");
  }
  want(o.number.ob_fval, "PyFloatObject", "ob_fval");
  want(o.number.cval_real, "PyComplexObject", "cval.real");
  want(o.number.cval_imag, "PyComplexObject", "cval.imag");
  want(o.sequence.list_ob_item, "PyListObject", "ob_item");
  want(o.sequence.tuple_ob_item, "PyTupleObject", "ob_item");
  want(o.sequence.bytearray_ob_start, "PyByteArrayObject", "ob_start");
  want(o.dict.ma_used, "PyDictObject", "ma_used");
  want(o.dict.ma_keys, "PyDictObject", "ma_keys");
  want(o.dict.ma_values, "PyDictObject", "ma_values");
  want(o.dict_keys.dk_nentries, "PyDictKeysObject", "dk_nentries");
  want(o.dict_keys.dk_indices, "PyDictKeysObject", "dk_indices");
  want_size(o.dict_entry.size, "PyDictKeyEntry");
  want(o.dict_entry.me_key, "PyDictKeyEntry", "me_key");
  want(o.dict_entry.me_value, "PyDictKeyEntry", "me_value");
  if (v.at_least(3, 11)) {
    want(o.type_slots.ht_cached_keys, "PyHeapTypeObject", "ht_cached_keys");
    want(o.dict_keys.dk_log2_size, "PyDictKeysObject", "dk_log2_size");
    want(o.dict_keys.dk_log2_index_bytes, "PyDictKeysObject", "dk_log2_index_bytes");
    want(o.dict_keys.dk_kind, "PyDictKeysObject", "dk_kind");
    want_size(o.dict_entry.unicode_size, "PyDictUnicodeEntry");
    want(o.dict_entry.unicode_me_key, "PyDictUnicodeEntry", "me_key");
    want(o.dict_entry.unicode_me_value, "PyDictUnicodeEntry", "me_value");
    want(o.dict_values.values, "PyDictValues", "values");
    if (v.at_least(3, 13)) want(o.dict_values.valid, "PyDictValues", "valid");
  } else {
    want(o.dict_keys.dk_size, "PyDictKeysObject", "dk_size");
  }
  want(o.set.used, "PySetObject", "used");
  want(o.set.mask, "PySetObject", "mask");
  want(o.set.table, "PySetObject", "table");
  want_size(o.set.entry_size, "setentry");
  want(o.set.entry_key, "setentry", "key");
  want(o.misc.exc_args, "PyBaseExceptionObject", "args");
  want(o.misc.func_name, "PyFunctionObject", "func_name");
  want(o.misc.func_qualname, "PyFunctionObject", "func_qualname");
  want(o.misc.im_func, "PyMethodObject", "im_func");
  want(o.misc.im_self, "PyMethodObject", "im_self");
  want(o.misc.md_name, "PyModuleObject", "md_name");
  want(o.misc.cell_ob_ref, "PyCellObject", "ob_ref");
  want(o.misc.wrapper_descr, "wrapperobject", "descr");
  want(o.misc.wrapper_self, "wrapperobject", "self");
  want(o.misc.descr_d_base, "PyWrapperDescrObject", "d_base");
  want(o.misc.wrapperbase_name, "wrapperbase", "name");
  want(o.frame_vars.co_nlocals, "PyCodeObject", "co_nlocals");
  if (v.at_least(3, 11)) {
    want(o.frame_vars.f_frame, "PyFrameObject", "f_frame");
    want(o.frame_vars.iframe_globals, "_PyInterpreterFrame", "f_globals");
    want(o.frame_vars.iframe_builtins, "_PyInterpreterFrame", "f_builtins");
    want(o.frame_vars.co_localsplusnames, "PyCodeObject", "co_localsplusnames");
    want(o.frame_vars.co_localspluskinds, "PyCodeObject", "co_localspluskinds");
    want(o.frame_vars.co_nlocalsplus, "PyCodeObject", "co_nlocalsplus");
  } else {
    want(o.frame_vars.f_localsplus, "PyFrameObject", "f_localsplus");
    want(o.frame_vars.f_globals, "PyFrameObject", "f_globals");
    want(o.frame_vars.f_builtins, "PyFrameObject", "f_builtins");
    want(o.frame_vars.co_varnames, "PyCodeObject", "co_varnames");
    want(o.frame_vars.co_cellvars, "PyCodeObject", "co_cellvars");
    want(o.frame_vars.co_freevars, "PyCodeObject", "co_freevars");
  }
  want(o.value_stack.co_stacksize, "PyCodeObject", "co_stacksize");
  if (v.at_least(3, 11)) {
    want(o.value_stack.co_exceptiontable, "PyCodeObject", "co_exceptiontable");
  } else {
    want(o.value_stack.co_code, "PyCodeObject", "co_code");
    want(o.value_stack.f_valuestack, "PyFrameObject", "f_valuestack");
    want(o.value_stack.f_iblock, "PyFrameObject", "f_iblock");
    want(o.value_stack.f_blockstack, "PyFrameObject", "f_blockstack");
    want_size(o.value_stack.try_block_size, "PyTryBlock");
    want(o.value_stack.b_type, "PyTryBlock", "b_type");
    want(o.value_stack.b_handler, "PyTryBlock", "b_handler");
    want(o.value_stack.b_level, "PyTryBlock", "b_level");
  }
  // Defined in Modules/_threadmodule.c, built into libpython.
  want(o.thread_lock.lock_lock, "lockobject", "lock_lock");
  want(o.thread_lock.locked, "lockobject", "locked");
  want(o.thread_lock.rlock_lock, "rlockobject", "rlock_lock");
  want(o.thread_lock.rlock_owner, "rlockobject", "rlock_owner");
  want(o.thread_lock.rlock_count, "rlockobject", "rlock_count");
  if (v.at_least(3, 12))
    want(o.gil.interp_gil, "PyInterpreterState", "ceval.gil");
  else
    want(o.gil.runtime_gil, "_PyRuntimeState", "ceval.gil");
  want(o.gil.locked, "_gil_runtime_state", "locked");
  want(o.gil.last_holder, "_gil_runtime_state", "last_holder");
  want(o.gil.cond, "_gil_runtime_state", "cond");
  want(o.gil.mutex, "_gil_runtime_state", "mutex");
  want(o.gil.switch_cond, "_gil_runtime_state", "switch_cond");
  want(o.gil.switch_mutex, "_gil_runtime_state", "switch_mutex");
  if (!absent.empty())
    log::get("cpython")->debug("CPython {}: no debug info for {} value field(s), first {}",
                               v.to_string(), absent.size(), absent.front());
}

}  // namespace

std::vector<OffsetsDifference> compare_offsets(const Offsets& a, const Offsets& b) {
  std::vector<std::uint64_t> left;
  for_each_field(a, [&](std::string_view, const auto& v) {
    left.push_back(static_cast<std::uint64_t>(v));
  });
  std::vector<OffsetsDifference> out;
  std::size_t i = 0;
  for_each_field(b, [&](std::string_view name, const auto& v) {
    auto right = static_cast<std::uint64_t>(v);
    if (left[i] != right) out.push_back({std::string(name), left[i], right});
    ++i;
  });
  return out;
}

std::string format_field_value(std::uint64_t value) {
  return value == kAbsent ? std::string("kAbsent") : fmt::format("{}", value);
}

std::vector<std::string> TypeLayoutOffsetsSource::wanted_types(const PythonVersion& v) {
  std::vector<std::string> names = {
          "_PyRuntimeState", "PyInterpreterState", "PyThreadState",
          "_PyInterpreterFrame", "PyFrameObject", "PyCodeObject",
          "PyASCIIObject", "PyCompactUnicodeObject", "PyUnicodeObject",
          "PyBytesObject", "PyObject", "PyVarObject", "PyTypeObject",
          "PyCFunctionObject", "PyMethodDef",
          // The value layer (values.h).
          "PyHeapTypeObject", "PyLongObject", "PyFloatObject", "PyComplexObject",
          "PyListObject", "PyTupleObject", "PyByteArrayObject", "PyDictObject",
          "PyDictKeysObject", "PyDictKeyEntry", "PyDictUnicodeEntry", "PyDictValues",
          "PySetObject", "setentry", "PyBaseExceptionObject", "PyFunctionObject",
          "PyMethodObject", "PyModuleObject", "PyCellObject", "wrapperobject",
          "PyWrapperDescrObject", "wrapperbase",
          // Locks (locks.h).
          "PyTryBlock", "lockobject", "rlockobject",
          // Thread state.
          "_gil_runtime_state"};
  // The C frame record of 3.11 and 3.12 (3.10's CFrame is not used).
  if (v.is(3, 11) || v.is(3, 12)) names.push_back("_PyCFrame");
  return names;
}

std::vector<std::pair<std::string, std::string>> TypeLayoutOffsetsSource::unit_hints() {
  // Modules/_threadmodule.c is among the last units of libpython: without
  // the hint, its lock structs cost a walk of three times as many units.
  return {{"lockobject", "Modules/_threadmodule.c"}, {"rlockobject", "Modules/_threadmodule.c"}};
}

Result<Offsets> TypeLayoutOffsetsSource::load(const PythonVersion& v) const {
  Offsets o;
  o.version = v;
  std::string missing;
  auto need = [&](std::uint64_t& out, std::string_view type, std::string_view path) {
    if (auto off = layouts_.offset_of(type, path)) {
      out = *off;
    } else if (missing.empty()) {
      missing = fmt::format("{}.{}", type, path);
    }
  };
  auto need_size = [&](std::uint64_t& out, std::string_view type) {
    if (auto size = layouts_.size_of(type)) {
      out = *size;
    } else if (missing.empty()) {
      missing = fmt::format("sizeof({})", type);
    }
  };

  need(o.runtime.interpreters_head, "_PyRuntimeState", "interpreters.head");
  need(o.interp.next, "PyInterpreterState", "next");
  need(o.interp.threads_head, "PyInterpreterState",
       v.at_least(3, 11) ? "threads.head" : "tstate_head");
  need(o.tstate.next, "PyThreadState", "next");
  need(o.tstate.interp, "PyThreadState", "interp");
  need(o.tstate.thread_id, "PyThreadState", "thread_id");
  if (v.at_least(3, 11)) need(o.tstate.native_thread_id, "PyThreadState", "native_thread_id");

  if (!v.at_least(3, 11)) {
    need(o.tstate.frame, "PyThreadState", "frame");
    need(o.frame_object.f_back, "PyFrameObject", "f_back");
    need(o.frame_object.f_code, "PyFrameObject", "f_code");
    need(o.frame_object.f_lasti, "PyFrameObject", "f_lasti");
    need(o.frame_object.f_lineno, "PyFrameObject", "f_lineno");
    need(o.frame_object.f_trace, "PyFrameObject", "f_trace");
    need(o.code.linetable, "PyCodeObject", v.at_least(3, 10) ? "co_linetable" : "co_lnotab");
  } else {
    if (v.at_least(3, 13)) {
      need(o.tstate.current_frame, "PyThreadState", "current_frame");
      need(o.iframe.code, "_PyInterpreterFrame", "f_executable");
      need(o.iframe.instr, "_PyInterpreterFrame", "instr_ptr");
    } else {
      need(o.tstate.cframe, "PyThreadState", "cframe");
      need(o.cframe.current_frame, "_PyCFrame", "current_frame");
      need(o.cframe.previous, "_PyCFrame", "previous");
      need(o.iframe.code, "_PyInterpreterFrame", "f_code");
      need(o.iframe.instr, "_PyInterpreterFrame", "prev_instr");
    }
    if (v.is(3, 11)) need(o.iframe.is_entry, "_PyInterpreterFrame", "is_entry");
    need(o.iframe.previous, "_PyInterpreterFrame", "previous");
    need(o.iframe.owner, "_PyInterpreterFrame", "owner");
    need(o.iframe.localsplus, "_PyInterpreterFrame", "localsplus");
    need(o.code.linetable, "PyCodeObject", "co_linetable");
    need(o.code.code_adaptive, "PyCodeObject", "co_code_adaptive");
    need(o.code.firsttraceable, "PyCodeObject", "_co_firsttraceable");
    need(o.code.qualname, "PyCodeObject", "co_qualname");
  }
  need(o.code.filename, "PyCodeObject", "co_filename");
  need(o.code.name, "PyCodeObject", "co_name");
  need(o.code.firstlineno, "PyCodeObject", "co_firstlineno");

  need(o.object.ob_type, "PyObject", "ob_type");
  need(o.object.ob_size, "PyVarObject", "ob_size");
  need(o.type.tp_name, "PyTypeObject", "tp_name");
  need(o.cfunction.m_ml, "PyCFunctionObject", "m_ml");
  need(o.cfunction.m_self, "PyCFunctionObject", "m_self");
  need(o.cfunction.ml_name, "PyMethodDef", "ml_name");
  need(o.cfunction.ml_meth, "PyMethodDef", "ml_meth");

  need(o.unicode.length_offset, "PyASCIIObject", "length");
  need(o.unicode.state_offset, "PyASCIIObject", "state");
  need_size(o.unicode.ascii_size, "PyASCIIObject");
  need_size(o.unicode.compact_size, "PyCompactUnicodeObject");
  need(o.unicode.legacy_data_offset, "PyUnicodeObject", "data");
  need(o.bytes.size_offset, "PyVarObject", "ob_size");
  need(o.bytes.sval_offset, "PyBytesObject", "ob_sval");

  load_value_offsets(layouts_, o);

  if (!missing.empty())
    return fail(ErrorCode::kDebugInfo,
                fmt::format("the debug info of CPython {} has no {}", v.to_string(), missing),
                0, "this build's layout is unknown to pyattach; please report it");
  return o;
}

}  // namespace pyattach::cpython
