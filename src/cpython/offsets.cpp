#include "cpython/offsets.h"

#include <fmt/format.h>

namespace pyattach::cpython {

std::vector<std::string> TypeLayoutOffsetsSource::wanted_types() {
  return {"_PyRuntimeState", "PyInterpreterState", "PyThreadState", "_PyCFrame",
          "CFrame", "_PyInterpreterFrame", "PyFrameObject", "PyCodeObject",
          "PyASCIIObject", "PyCompactUnicodeObject", "PyUnicodeObject",
          "PyBytesObject", "PyObject", "PyVarObject", "PyTypeObject",
          "PyCFunctionObject", "PyMethodDef"};
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
       v.at_least(3, 12) ? "threads.head" : "tstate_head");
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

  if (!missing.empty())
    return fail(ErrorCode::kDebugInfo,
                fmt::format("the debug info of CPython {} has no {}", v.to_string(), missing),
                0, "this build's layout is unknown to pyattach; please report it");
  return o;
}

}  // namespace pyattach::cpython
