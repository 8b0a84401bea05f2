// A valid CPython 3.13.0 _Py_DebugOffsets header for unit tests.
#pragma once

#include <cstring>

#include "cpython/debug_offsets.h"
#include "cpython/offsets.h"

namespace pyattach::testing {

// A valid 3.13.0 header that agrees with `o`.
inline cpython::py313::DebugOffsets header_from(const cpython::Offsets& o) {
  cpython::py313::DebugOffsets h{};
  std::memcpy(h.cookie, "xdebugpy", 8);
  h.version = 0x030D00F0;
  h.runtime_state = {200000, 8, o.runtime.interpreters_head};
  // The GIL fields: ceval.gil, interp->_gil at 10000, and _gil.locked /
  // _gil.last_holder published relative to PyInterpreterState.
  h.interpreter_state = {100000, 8, o.interp.next, o.interp.threads_head, 64, 72, 80, 88,
                         o.gil.interp_gil, 10000, 0, 10000 + o.gil.locked,
                         10000 + o.gil.last_holder};
  h.thread_state = {400,        0,  o.tstate.next, o.tstate.interp, o.tstate.current_frame,
                    o.tstate.thread_id, o.tstate.native_thread_id, 200, 100};
  h.interpreter_frame = {80, o.iframe.previous, o.iframe.code, o.iframe.instr,
                         o.iframe.localsplus, o.iframe.owner};
  h.code_object = {256, o.code.filename, o.code.name, o.code.qualname, o.code.linetable,
                   o.code.firstlineno, 60, o.frame_vars.co_localsplusnames,
                   o.frame_vars.co_localspluskinds, o.code.code_adaptive};
  h.pyobject = {16, o.object.ob_type};
  h.type_object = {416, o.type.tp_name, 88, o.type_slots.tp_flags};
  h.tuple_object = {32, o.sequence.tuple_ob_item, o.object.ob_size};
  h.list_object = {40, o.sequence.list_ob_item, o.object.ob_size};
  h.dict_object = {48, o.dict.ma_keys, o.dict.ma_values};
  h.float_object = {24, o.number.ob_fval};
  h.long_object = {32, o.long_object.lv_tag, o.long_object.ob_digit};
  h.bytes_object = {40, o.bytes.size_offset, o.bytes.sval_offset};
  h.unicode_object = {o.unicode.compact_size, o.unicode.state_offset, o.unicode.length_offset,
                      o.unicode.ascii_size};
  h.gc = {300, 16};
  return h;
}

}  // namespace pyattach::testing
