// The answers the DWARF of pyenv's CPython 3.8.18, 3.9.18, 3.10.13, 3.11.7,
// 3.12.1 and 3.13.0 builds (x86-64, libpython3.X.so.1.0) gives to every
// question TypeLayoutOffsetsSource::load asks, recorded with DwarfLayouts and
// checked against gdb (`p (unsigned long)&((T*)0)->path`, `p sizeof(T)`).
// Tests get real per-version Offsets through the real load().
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string_view>

#include "core/type_layouts.h"
#include "cpython/offsets.h"

namespace pyattach::testing {

struct RecordedLayout {
  std::string_view type;
  std::string_view path;  // "@size": sizeof(type)
  std::array<std::int64_t, 6> by_minor;  // 3.8 .. 3.13; -1: absent
};

inline constexpr std::array<RecordedLayout, 107> kRecordedLayouts{{
    {"PyASCIIObject", "@size", {48, 48, 48, 48, 40, 40}},
    {"PyASCIIObject", "length", {16, 16, 16, 16, 16, 16}},
    {"PyASCIIObject", "state", {32, 32, 32, 32, 32, 32}},
    {"PyBaseExceptionObject", "args", {24, 24, 24, 24, 24, 24}},
    {"PyByteArrayObject", "ob_start", {40, 40, 40, 40, 40, 40}},
    {"PyBytesObject", "ob_sval", {32, 32, 32, 32, 32, 32}},
    {"PyCFunctionObject", "m_ml", {16, 16, 16, 16, 16, 16}},
    {"PyCFunctionObject", "m_self", {24, 24, 24, 24, 24, 24}},
    {"PyCellObject", "ob_ref", {16, 16, 16, 16, 16, 16}},
    {"PyCodeObject", "_co_firsttraceable", {-1, -1, -1, 168, 176, 184}},
    {"PyCodeObject", "co_cellvars", {88, 88, 88, -1, -1, -1}},
    {"PyCodeObject", "co_code_adaptive", {-1, -1, -1, 184, 192, 200}},
    {"PyCodeObject", "co_filename", {104, 104, 104, 112, 112, 112}},
    {"PyCodeObject", "co_firstlineno", {40, 40, 40, 72, 68, 68}},
    {"PyCodeObject", "co_freevars", {80, 80, 80, -1, -1, -1}},
    {"PyCodeObject", "co_linetable", {-1, -1, 120, 136, 136, 136}},
    {"PyCodeObject", "co_lnotab", {120, 120, -1, -1, -1, -1}},
    {"PyCodeObject", "co_localspluskinds", {-1, -1, -1, 104, 104, 104}},
    {"PyCodeObject", "co_localsplusnames", {-1, -1, -1, 96, 96, 96}},
    {"PyCodeObject", "co_name", {112, 112, 112, 120, 120, 120}},
    {"PyCodeObject", "co_nlocals", {28, 28, 28, 80, 80, 80}},
    {"PyCodeObject", "co_nlocalsplus", {-1, -1, -1, 76, 72, 72}},
    {"PyCodeObject", "co_qualname", {-1, -1, -1, 128, 128, 128}},
    {"PyCodeObject", "co_varnames", {72, 72, 72, -1, -1, -1}},
    {"PyCompactUnicodeObject", "@size", {72, 72, 72, 72, 56, 56}},
    {"PyComplexObject", "cval.imag", {24, 24, 24, 24, 24, 24}},
    {"PyComplexObject", "cval.real", {16, 16, 16, 16, 16, 16}},
    {"PyDictKeyEntry", "@size", {24, 24, 24, 24, 24, 24}},
    {"PyDictKeyEntry", "me_key", {8, 8, 8, 8, 8, 8}},
    {"PyDictKeyEntry", "me_value", {16, 16, 16, 16, 16, 16}},
    {"PyDictKeysObject", "dk_indices", {40, 40, 40, 32, 32, 32}},
    {"PyDictKeysObject", "dk_kind", {-1, -1, -1, 10, 10, 10}},
    {"PyDictKeysObject", "dk_log2_index_bytes", {-1, -1, -1, 9, 9, 9}},
    {"PyDictKeysObject", "dk_log2_size", {-1, -1, -1, 8, 8, 8}},
    {"PyDictKeysObject", "dk_nentries", {32, 32, 32, 24, 24, 24}},
    {"PyDictKeysObject", "dk_size", {8, 8, 8, -1, -1, -1}},
    {"PyDictObject", "ma_keys", {32, 32, 32, 32, 32, 32}},
    {"PyDictObject", "ma_used", {16, 16, 16, 16, 16, 16}},
    {"PyDictObject", "ma_values", {40, 40, 40, 40, 40, 40}},
    {"PyDictUnicodeEntry", "@size", {-1, -1, -1, 16, 16, 16}},
    {"PyDictUnicodeEntry", "me_key", {-1, -1, -1, 0, 0, 0}},
    {"PyDictUnicodeEntry", "me_value", {-1, -1, -1, 8, 8, 8}},
    {"PyDictValues", "valid", {-1, -1, -1, -1, -1, 3}},
    {"PyDictValues", "values", {-1, -1, -1, 0, 0, 8}},
    {"PyFloatObject", "ob_fval", {16, 16, 16, 16, 16, 16}},
    {"PyFrameObject", "f_back", {24, 24, 24, -1, -1, -1}},
    {"PyFrameObject", "f_builtins", {40, 40, 40, -1, -1, -1}},
    {"PyFrameObject", "f_code", {32, 32, 32, -1, -1, -1}},
    {"PyFrameObject", "f_frame", {-1, -1, -1, 24, 24, 24}},
    {"PyFrameObject", "f_globals", {48, 48, 48, -1, -1, -1}},
    {"PyFrameObject", "f_lasti", {104, 104, 96, -1, -1, -1}},
    {"PyFrameObject", "f_lineno", {108, 108, 100, -1, -1, -1}},
    {"PyFrameObject", "f_localsplus", {360, 360, 352, -1, -1, -1}},
    {"PyFrameObject", "f_trace", {80, 80, 72, -1, -1, -1}},
    {"PyFunctionObject", "func_name", {64, 64, 32, 32, 32, 32}},
    {"PyFunctionObject", "func_qualname", {104, 104, 40, 40, 40, 40}},
    {"PyHeapTypeObject", "ht_cached_keys", {-1, -1, -1, 872, 880, 880}},
    {"PyInterpreterState", "next", {0, 0, 0, 0, 0, 7264}},
    {"PyInterpreterState", "threads.head", {-1, -1, -1, 16, 72, 7344}},
    {"PyInterpreterState", "tstate_head", {8, 8, 8, -1, -1, -1}},
    {"PyListObject", "ob_item", {24, 24, 24, 24, 24, 24}},
    {"PyLongObject", "long_value.lv_tag", {-1, -1, -1, -1, 16, 16}},
    {"PyLongObject", "long_value.ob_digit", {-1, -1, -1, -1, 24, 24}},
    {"PyLongObject", "ob_digit", {24, 24, 24, 24, -1, -1}},
    {"PyMethodDef", "ml_meth", {8, 8, 8, 8, 8, 8}},
    {"PyMethodDef", "ml_name", {0, 0, 0, 0, 0, 0}},
    {"PyMethodObject", "im_func", {16, 16, 16, 16, 16, 16}},
    {"PyMethodObject", "im_self", {24, 24, 24, 24, 24, 24}},
    {"PyModuleObject", "md_name", {48, 48, 48, 48, 48, 48}},
    {"PyObject", "ob_type", {8, 8, 8, 8, 8, 8}},
    {"PySetObject", "mask", {32, 32, 32, 32, 32, 32}},
    {"PySetObject", "table", {40, 40, 40, 40, 40, 40}},
    {"PySetObject", "used", {24, 24, 24, 24, 24, 24}},
    {"PyThreadState", "cframe", {-1, -1, -1, 56, 56, -1}},
    {"PyThreadState", "current_frame", {-1, -1, -1, -1, -1, 72}},
    {"PyThreadState", "frame", {24, 24, 24, -1, -1, -1}},
    {"PyThreadState", "interp", {16, 16, 16, 16, 16, 16}},
    {"PyThreadState", "native_thread_id", {-1, -1, -1, 160, 144, 160}},
    {"PyThreadState", "next", {8, 8, 8, 8, 8, 8}},
    {"PyThreadState", "thread_id", {176, 176, 176, 152, 136, 152}},
    {"PyTupleObject", "ob_item", {24, 24, 24, 24, 24, 24}},
    {"PyTypeObject", "tp_basicsize", {32, 32, 32, 32, 32, 32}},
    {"PyTypeObject", "tp_dictoffset", {288, 288, 288, 288, 288, 288}},
    {"PyTypeObject", "tp_flags", {168, 168, 168, 168, 168, 168}},
    {"PyTypeObject", "tp_itemsize", {40, 40, 40, 40, 40, 40}},
    {"PyTypeObject", "tp_name", {24, 24, 24, 24, 24, 24}},
    {"PyUnicodeObject", "data", {72, 72, 72, 72, 56, 56}},
    {"PyVarObject", "ob_size", {16, 16, 16, 16, 16, 16}},
    {"PyWrapperDescrObject", "d_base", {40, 40, 40, 40, 40, 40}},
    {"_PyCFrame", "current_frame", {-1, -1, -1, 8, 0, -1}},
    {"_PyCFrame", "previous", {-1, -1, -1, 16, 8, -1}},
    {"_PyInterpreterFrame", "f_builtins", {-1, -1, -1, 16, 32, 32}},
    {"_PyInterpreterFrame", "f_code", {-1, -1, -1, 32, 0, -1}},
    {"_PyInterpreterFrame", "f_executable", {-1, -1, -1, -1, -1, 0}},
    {"_PyInterpreterFrame", "f_globals", {-1, -1, -1, 8, 24, 24}},
    {"_PyInterpreterFrame", "instr_ptr", {-1, -1, -1, -1, -1, 56}},
    {"_PyInterpreterFrame", "is_entry", {-1, -1, -1, 68, -1, -1}},
    {"_PyInterpreterFrame", "localsplus", {-1, -1, -1, 72, 72, 72}},
    {"_PyInterpreterFrame", "owner", {-1, -1, -1, 69, 70, 70}},
    {"_PyInterpreterFrame", "prev_instr", {-1, -1, -1, 56, 56, -1}},
    {"_PyInterpreterFrame", "previous", {-1, -1, -1, 48, 8, 8}},
    {"_PyRuntimeState", "interpreters.head", {32, 32, 32, 40, 40, 632}},
    {"setentry", "@size", {16, 16, 16, 16, 16, 16}},
    {"setentry", "key", {0, 0, 0, 0, 0, 0}},
    {"wrapperbase", "name", {0, 0, 0, 0, 0, 0}},
    {"wrapperobject", "descr", {16, 16, 16, 16, 16, 16}},
    {"wrapperobject", "self", {24, 24, 24, 24, 24, 24}},
}};

// TypeLayouts answering from kRecordedLayouts for CPython 3.`minor`.
class RecordedTypeLayouts final : public TypeLayouts {
 public:
  explicit RecordedTypeLayouts(int minor) : column_(minor - 8) {
    if (minor < 8 || minor > 13) throw std::invalid_argument("no recorded layouts");
  }
  std::optional<std::uint64_t> offset_of(std::string_view type,
                                         std::string_view path) const override {
    return find(type, path);
  }
  std::optional<std::uint64_t> size_of(std::string_view type) const override {
    return find(type, "@size");
  }

 private:
  std::optional<std::uint64_t> find(std::string_view type, std::string_view path) const {
    for (const auto& row : kRecordedLayouts) {
      if (row.type == type && row.path == path) {
        std::int64_t v = row.by_minor[static_cast<std::size_t>(column_)];
        if (v < 0) return std::nullopt;
        return static_cast<std::uint64_t>(v);
      }
    }
    return std::nullopt;
  }
  int column_;
};

// The Offsets of pyenv's CPython 3.`minor` build, through the real load().
inline cpython::Offsets recorded_offsets(int minor) {
  RecordedTypeLayouts layouts(minor);
  auto offsets = cpython::TypeLayoutOffsetsSource(layouts).load(
      cpython::PythonVersion{3, minor, 0});
  if (!offsets) throw std::runtime_error(offsets.error().message);
  return *offsets;
}

}  // namespace pyattach::testing
