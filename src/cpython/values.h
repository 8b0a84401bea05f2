// Python objects read out of target memory into plain trees, for printing as
// python-gdb.py's PyObjectPtr.write_repr does (render/value_repr.h), for
// CPython 3.8-3.13. Nothing in a PyValue points into the target.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/remote_memory.h"
#include "core/result.h"
#include "cpython/offsets.h"

namespace pyattach::cpython {

// How an object is shown. The reader picks it as python-gdb.py's
// PyObjectPtr.subclass_from_type does (tp_name special cases, then
// Py_TPFLAGS_HEAPTYPE, then the tp_flags subclass bits), plus a few builtin
// types python-gdb.py shows only as <TYPE at remote 0x...>.
enum class ValueKind : std::uint8_t {
  kNull,        // a NULL PyObject*
  kUnreadable,  // the object (or a part it needs) could not be read; type_name
                // is its tp_name, or "unknown" when even that failed
  kCycle,       // an object already being printed further up (see `of`)
  kElided,      // not read: the node budget or depth limit was reached
  kNone,
  kBool,     // flag = the value
  kInt,      // text = decimal digits with a leading '-' if negative; empty
             // (truncated = true) if the int has more digits than allowed
  kFloat,    // real
  kComplex,  // real, imag
  kStr,      // text = the code points, see "Text" below; length = code points
  kBytes,    // text = the raw bytes; length = bytes in the object
  kByteArray,
  kList,       // children = items; length = ob_size
  kTuple,      // children = items
  kDict,       // children = key0, value0, key1, value1, ... (live entries only)
  kSet,        // children = keys
  kFrozenSet,  // children = keys
  kInstance,   // instance of a heap type; flag = it has an attribute dict
               // (children = name0, value0, ...); false: none was found
  kException,  // non-heap BaseException subclass; children = {args}
  kType,       // a class (tp_name "type"): name = its tp_name
  kModule,     // name = module name (best effort)
  kFunction,   // name = __qualname__ (best effort)
  kMethod,     // bound method: name = function __qualname__, self_type, self_address
  kCode,
  kCell,       // self_type, self_address = what the cell holds (null: empty)
  kBuiltinFunction,  // PyCFunctionObject with m_self == NULL: name = ml_name
  kBuiltinMethod,    // name = ml_name; self_type, self_address = m_self
  kMethodWrapper,    // name = wrapperbase name; self_type, self_address
  kFrame,  // text = co_filename, name = co_name, line, children = local name0,
           // value0, ... ; address = PyFrameObject (<=3.10) or
           // _PyInterpreterFrame (3.11+), as python-gdb.py prints it
  kOther,  // anything else: <type_name at remote 0xADDR>
};

// Text: a str's code points in "WTF-8": UTF-8, except that lone surrogates
// (U+D800..U+DFFF, which a str can hold) are encoded with the same 3-byte
// pattern as other BMP code points. A str holding a code point above U+10FFFF
// is corrupt and reads as kUnreadable.
struct PyValue {
  ValueKind kind = ValueKind::kOther;
  RemoteAddr address;     // the object; null for kNull
  std::string type_name;  // tp_name, as the target holds it (may be any bytes)
  std::string text;       // kInt, kStr, kBytes, kByteArray, kFrame (file name)
  std::string name;       // see the kinds
  double real = 0.0, imag = 0.0;
  bool flag = false;
  // text or children stop short of the object's contents (a limit was hit);
  // kInt: the value is too large to convert.
  bool truncated = false;
  std::uint64_t length = 0;  // str, bytes, bytearray, list, tuple, dict, set
  std::optional<int> line;   // kFrame: nullopt when unknown ("?")
  std::string self_type;     // kMethod, kBuiltinMethod, kMethodWrapper
  RemoteAddr self_address;
  ValueKind of = ValueKind::kOther;  // kCycle: the kind of the object met again
  std::vector<PyValue> children;

  std::size_t node_count() const;  // this node and all below it
};

// Bounds on one read. Target memory is untrusted: every loop and length is
// capped by these. The defaults are enough for python-gdb.py's 1024-character
// output: a node prints as at least one character, a str as at least one per
// code point, so a value cut by them would be cut by the printer anyway.
struct ReadLimits {
  std::size_t max_nodes = 4096;    // nodes per top-level value (per read)
  std::size_t max_depth = 256;     // nesting; deeper values become kElided
  std::size_t max_str_chars = 1024;  // code points kept per str
  std::size_t max_bytes = 1024;      // bytes kept per bytes/bytearray
  std::size_t max_int_digits = 2000;  // 30-bit digits (~18000 decimal digits)
  std::size_t max_scan = 1 << 16;     // dict/set slots scanned, holes included
  std::size_t max_name_chars = 1024;  // tp_name, ml_name, variable names
  std::size_t max_locals = 1 << 16;   // frame slots looked at
  std::size_t max_total_nodes = 1 << 18;  // over all values of one frame's locals
};

// A variable of a frame; name is its text (WTF-8, see PyValue).
struct NamedValue {
  std::string name;
  PyValue value;
};

// Which variables of a frame read_locals yields.
enum class LocalsScope {
  // python-gdb.py's iter_locals: the first co_nlocals slots (co_varnames),
  // NULL slots skipped, values as stored. 3.8-3.10 therefore omit arguments
  // captured by a closure (CPython moves them into cells and clears the
  // slot); 3.11+ show such arguments as the cell (<cell at remote 0x...>).
  kPythonGdb,
  // What frame.f_locals holds: plain locals, then cell and free variables
  // with their cells dereferenced (empty cells skipped).
  kAll,
};

struct VariableLookup {
  enum class Scope { kLocal, kGlobal, kBuiltin };
  Scope scope = Scope::kLocal;
  PyValue value;
};
std::string_view scope_name(VariableLookup::Scope scope);  // "local", "global", "builtin"

// Reads values out of one stopped target. Keeps per-target caches (types,
// code objects), so reuse one reader for all reads of one snapshot; it must
// not outlive `memory` or `offsets`. Not thread-safe.
//
// Reads never fail as a whole: whatever cannot be read becomes a kUnreadable
// node (an unreadable top-level object included), cycles become kCycle, and
// what lies past a limit becomes kElided or sets `truncated`.
class ValueReader {
 public:
  ValueReader(const RemoteMemory& memory, const Offsets& offsets, ReadLimits limits = {});
  ~ValueReader();
  ValueReader(ValueReader&&) noexcept;
  ValueReader& operator=(ValueReader&&) = delete;

  // The object at `obj` (a PyObject*; may be NULL or garbage). For
  // `p (PyObject*)0x...`.
  PyValue read(RemoteAddr obj);

  // A frame as python-gdb.py's PyFrameObjectPtr/PyFramePtr.write_repr prints
  // it, the text after "#N " of py-bt-full and py-up:
  //   Frame 0x..., for file F, line N, in NAME (a=1, b=[...])
  // `frame` is what PyFrameSnapshot::address holds: a PyFrameObject (<=3.10)
  // or a _PyInterpreterFrame (3.11+). Locals are those of kPythonGdb and share
  // one budget of max_nodes, since python-gdb.py cuts the whole line at 1024
  // characters. An unreadable frame gives kUnreadable.
  PyValue read_frame(RemoteAddr frame);

  // A frame's variables, for py-locals (one line per variable, each value
  // with its own budget of max_nodes; max_total_nodes over all). Fails with
  // kBadRemoteAddress/kCorruptData if the frame or its code object is
  // unreadable (python-gdb.py: "Unable to read information on python frame").
  Result<std::vector<NamedValue>> read_locals(RemoteAddr frame,
                                              LocalsScope scope = LocalsScope::kPythonGdb);

  // py-print NAME: python-gdb.py's get_var_by_name. Looks in the locals of
  // read_locals(kPythonGdb), then the frame's globals dict, then its builtins
  // dict; only the match's value is read. nullopt: not found. Fails as
  // read_locals does when the frame is unreadable.
  Result<std::optional<VariableLookup>> lookup(RemoteAddr frame, std::string_view name);

  const ReadLimits& limits() const { return limits_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  ReadLimits limits_;
};

// One-shot forms of the above, for callers with a single value to read.
PyValue read_value(const RemoteMemory& memory, const Offsets& offsets, RemoteAddr obj,
                   const ReadLimits& limits = {});
Result<std::vector<NamedValue>> read_frame_locals(
    const RemoteMemory& memory, const Offsets& offsets, RemoteAddr frame,
    LocalsScope scope = LocalsScope::kPythonGdb, const ReadLimits& limits = {});

// Appends `cp` to `out` in WTF-8 (see PyValue). cp must be <= 0x10FFFF.
void append_wtf8(std::string& out, char32_t cp);
// Decodes one code point of WTF-8 text at `pos` (< text.size()), advancing
// it. A byte that does not start a valid sequence comes back alone as
// kInvalidByte | byte, so callers can tell it apart from a code point.
inline constexpr char32_t kInvalidByte = 0x80000000;
char32_t next_wtf8(std::string_view text, std::size_t& pos);

}  // namespace pyattach::cpython
