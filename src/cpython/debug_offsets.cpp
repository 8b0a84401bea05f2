#include "cpython/debug_offsets.h"

#include <cstring>
#include <initializer_list>
#include <utility>

#include <fmt/format.h>

#include "core/log.h"

namespace pyattach::cpython {
namespace {

constexpr std::uint64_t kMaxGilStateSize = 4096;

using FieldList = std::initializer_list<std::pair<const char*, std::uint64_t>>;

// One struct of the header: its size must be sane and each offset inside it.
Result<void> check_struct(const char* name, std::uint64_t size, FieldList offsets) {
  if (size == 0 || size > kMaxDebugOffsetsStructSize)
    return fail(ErrorCode::kCorruptData,
                fmt::format("_Py_DebugOffsets: {}.size is {}, not in 1..{}", name, size,
                            kMaxDebugOffsetsStructSize));
  for (const auto& [field, offset] : offsets)
    if (offset >= size)
      return fail(ErrorCode::kCorruptData,
                  fmt::format("_Py_DebugOffsets: {}.{} is {}, outside its struct of {} bytes",
                              name, field, offset, size));
  return {};
}

}  // namespace

Result<void> validate_debug_offsets(const py313::DebugOffsets& h, const PythonVersion& version) {
  if (std::memcmp(h.cookie, "xdebugpy", sizeof h.cookie) != 0)
    return fail(ErrorCode::kCorruptData, "_Py_DebugOffsets: no \"xdebugpy\" cookie at _PyRuntime");
  const auto major = static_cast<int>((h.version >> 24) & 0xff);
  const auto minor = static_cast<int>((h.version >> 16) & 0xff);
  if (!version.is(3, 13))
    return fail(ErrorCode::kUnsupportedVersion,
                fmt::format("_Py_DebugOffsets of CPython {} are not modelled (3.13 only)",
                            version.to_string()));
  if (major != version.major || minor != version.minor || (h.version >> 32) != 0)
    return fail(ErrorCode::kCorruptData,
                fmt::format("_Py_DebugOffsets: version {:#x} is not that of CPython {}",
                            h.version, version.to_string()));
  if (h.free_threaded != 0)
    return fail(ErrorCode::kUnsupportedVersion,
                "_Py_DebugOffsets: a free-threaded build, which pyattach does not support");
  const auto& r = h.runtime_state;
  if (auto bad = check_struct("runtime_state", r.size,
                            {{"finalizing", r.finalizing},
                             {"interpreters_head", r.interpreters_head}}); !bad) return bad;
  const auto& i = h.interpreter_state;
  if (auto bad = check_struct("interpreter_state", i.size,
                            {{"id", i.id},
                             {"next", i.next},
                             {"threads_head", i.threads_head},
                             {"gc", i.gc},
                             {"imports_modules", i.imports_modules},
                             {"sysdict", i.sysdict},
                             {"builtins", i.builtins},
                             {"ceval_gil", i.ceval_gil},
                             {"gil_runtime_state", i.gil_runtime_state}}); !bad) return bad;
  const auto& t = h.thread_state;
  if (auto bad = check_struct("thread_state", t.size,
                            {{"prev", t.prev},
                             {"next", t.next},
                             {"interp", t.interp},
                             {"current_frame", t.current_frame},
                             {"thread_id", t.thread_id},
                             {"native_thread_id", t.native_thread_id},
                             {"datastack_chunk", t.datastack_chunk},
                             {"status", t.status}}); !bad) return bad;
  const auto& f = h.interpreter_frame;
  if (auto bad = check_struct("interpreter_frame", f.size,
                            {{"previous", f.previous},
                             {"executable", f.executable},
                             {"instr_ptr", f.instr_ptr},
                             {"localsplus", f.localsplus},
                             {"owner", f.owner}}); !bad) return bad;
  const auto& c = h.code_object;
  if (auto bad = check_struct("code_object", c.size,
                            {{"filename", c.filename},
                             {"name", c.name},
                             {"qualname", c.qualname},
                             {"linetable", c.linetable},
                             {"firstlineno", c.firstlineno},
                             {"argcount", c.argcount},
                             {"localsplusnames", c.localsplusnames},
                             {"localspluskinds", c.localspluskinds},
                             {"co_code_adaptive", c.co_code_adaptive}}); !bad) return bad;
  if (auto bad = check_struct("pyobject", h.pyobject.size, {{"ob_type", h.pyobject.ob_type}}); !bad) return bad;
  const auto& ty = h.type_object;
  if (auto bad = check_struct("type_object", ty.size,
                            {{"tp_name", ty.tp_name},
                             {"tp_repr", ty.tp_repr},
                             {"tp_flags", ty.tp_flags}}); !bad) return bad;
  if (auto bad = check_struct("tuple_object", h.tuple_object.size,
                            {{"ob_item", h.tuple_object.ob_item},
                             {"ob_size", h.tuple_object.ob_size}}); !bad) return bad;
  if (auto bad = check_struct("list_object", h.list_object.size,
                            {{"ob_item", h.list_object.ob_item},
                             {"ob_size", h.list_object.ob_size}}); !bad) return bad;
  if (auto bad = check_struct("dict_object", h.dict_object.size,
                            {{"ma_keys", h.dict_object.ma_keys},
                             {"ma_values", h.dict_object.ma_values}}); !bad) return bad;
  if (auto bad = check_struct("float_object", h.float_object.size,
                            {{"ob_fval", h.float_object.ob_fval}}); !bad) return bad;
  if (auto bad = check_struct("long_object", h.long_object.size,
                            {{"lv_tag", h.long_object.lv_tag},
                             {"ob_digit", h.long_object.ob_digit}}); !bad) return bad;
  if (auto bad = check_struct("bytes_object", h.bytes_object.size,
                            {{"ob_size", h.bytes_object.ob_size},
                             {"ob_sval", h.bytes_object.ob_sval}}); !bad) return bad;
  const auto& u = h.unicode_object;
  if (auto bad = check_struct("unicode_object", u.size,
                            {{"state", u.state}, {"length", u.length}}); !bad) return bad;
  if (u.asciiobject_size == 0 || u.asciiobject_size > u.size)
    return fail(ErrorCode::kCorruptData,
                fmt::format("_Py_DebugOffsets: unicode_object.asciiobject_size is {}, not in "
                            "1..{}",
                            u.asciiobject_size, u.size));
  if (auto bad = check_struct("gc", h.gc.size, {{"collecting", h.gc.collecting}}); !bad) return bad;
  // gil_runtime_state_locked/_holder are offsets in PyInterpreterState of
  // interp->_gil.locked/.last_holder; the GIL struct's size is not published
  // (it is a few hundred bytes).
  if (auto bad = check_struct("interpreter_state", i.size,
                              {{"gil_runtime_state_locked", i.gil_runtime_state_locked},
                               {"gil_runtime_state_holder", i.gil_runtime_state_holder}});
      !bad)
    return bad;
  for (std::uint64_t field : {i.gil_runtime_state_locked, i.gil_runtime_state_holder})
    if (field < i.gil_runtime_state || field - i.gil_runtime_state >= kMaxGilStateSize)
      return fail(ErrorCode::kCorruptData,
                  fmt::format("_Py_DebugOffsets: a GIL field at {} is not within {} bytes "
                              "after interpreter_state.gil_runtime_state ({})",
                              field, kMaxGilStateSize, i.gil_runtime_state));
  return {};
}

void apply_debug_offsets(const py313::DebugOffsets& h, Offsets& o) {
  o.runtime.interpreters_head = h.runtime_state.interpreters_head;
  o.interp.next = h.interpreter_state.next;
  o.interp.threads_head = h.interpreter_state.threads_head;
  o.tstate.next = h.thread_state.next;
  o.tstate.interp = h.thread_state.interp;
  o.tstate.current_frame = h.thread_state.current_frame;
  o.tstate.thread_id = h.thread_state.thread_id;
  o.tstate.native_thread_id = h.thread_state.native_thread_id;
  o.iframe.previous = h.interpreter_frame.previous;
  o.iframe.code = h.interpreter_frame.executable;
  o.iframe.instr = h.interpreter_frame.instr_ptr;
  o.iframe.localsplus = h.interpreter_frame.localsplus;
  o.iframe.owner = h.interpreter_frame.owner;
  o.code.filename = h.code_object.filename;
  o.code.name = h.code_object.name;
  o.code.qualname = h.code_object.qualname;
  o.code.linetable = h.code_object.linetable;
  o.code.firstlineno = h.code_object.firstlineno;
  o.code.code_adaptive = h.code_object.co_code_adaptive;
  o.frame_vars.co_localsplusnames = h.code_object.localsplusnames;
  o.frame_vars.co_localspluskinds = h.code_object.localspluskinds;
  o.object.ob_type = h.pyobject.ob_type;
  o.object.ob_size = h.tuple_object.ob_size;  // PyVarObject.ob_size
  o.type.tp_name = h.type_object.tp_name;
  o.type_slots.tp_flags = h.type_object.tp_flags;
  o.sequence.tuple_ob_item = h.tuple_object.ob_item;
  o.sequence.list_ob_item = h.list_object.ob_item;
  o.dict.ma_keys = h.dict_object.ma_keys;
  o.dict.ma_values = h.dict_object.ma_values;
  o.number.ob_fval = h.float_object.ob_fval;
  o.long_object.lv_tag = h.long_object.lv_tag;
  o.long_object.ob_digit = h.long_object.ob_digit;
  o.bytes.size_offset = h.bytes_object.ob_size;
  o.bytes.sval_offset = h.bytes_object.ob_sval;
  o.unicode.state_offset = h.unicode_object.state;
  o.unicode.length_offset = h.unicode_object.length;
  o.unicode.ascii_size = h.unicode_object.asciiobject_size;
  o.gil.interp_gil = h.interpreter_state.ceval_gil;
  // Published relative to PyInterpreterState (interp->_gil.locked); the
  // Offsets are relative to struct _gil_runtime_state. validate_debug_offsets
  // checked that both lie after gil_runtime_state.
  o.gil.locked = h.interpreter_state.gil_runtime_state_locked -
                 h.interpreter_state.gil_runtime_state;
  o.gil.last_holder = h.interpreter_state.gil_runtime_state_holder -
                      h.interpreter_state.gil_runtime_state;
}

Result<Offsets> DebugOffsetsSource::load(const PythonVersion& version) const {
  if (!version.at_least(3, 13))
    return fail(ErrorCode::kUnsupportedVersion,
                fmt::format("CPython {} has no _Py_DebugOffsets (3.13+)", version.to_string()));
  // _Py_DebugOffsets is the first member of _PyRuntimeState.
  auto header = memory_.read_value<py313::DebugOffsets>(runtime_);
  if (!header)
    return fail(ErrorCode::kBadRemoteAddress,
                fmt::format("cannot read _Py_DebugOffsets at {:#x}: {}", runtime_.as_int(),
                            header.error().message));
  if (auto valid = validate_debug_offsets(*header, version); !valid)
    return std::unexpected(valid.error());
  const auto header_micro = static_cast<int>((header->version >> 8) & 0xff);
  auto logger = log::get("cpython");
  if (header_micro != version.micro)
    logger->warn("_Py_DebugOffsets: version {:#x}, but the target says CPython {}",
                 header->version, version.to_string());
  Offsets o = PYATTACH_TRY(fallback_.load(version));
  const Offsets from_fallback = o;
  apply_debug_offsets(*header, o);
  for (const auto& d : compare_offsets(from_fallback, o))
    logger->warn("_Py_DebugOffsets: {} is {}, the {} offsets say {}; using {}", d.field,
                 format_field_value(d.right), fallback_.name(), format_field_value(d.left),
                 format_field_value(d.right));
  return o;
}

}  // namespace pyattach::cpython
