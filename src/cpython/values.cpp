// The value reader. The choice of printer per object follows python-gdb.py's
// PyObjectPtr.subclass_from_type (Tools/gdb/libpython.py, 3.8-3.13); the
// layouts follow Include/cpython/*.h and Objects/*.c of each version. Where
// python-gdb.py reads the wrong memory, the deviation is noted at the spot.
#include "cpython/values.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <limits>
#include <span>
#include <unordered_map>
#include <unordered_set>

#include "cpython/line_table.h"
#include "cpython/python_stack.h"

namespace pyattach::cpython {
namespace {

// tp_flags bits, Include/object.h. MANAGED_DICT exists from 3.11,
// INLINE_VALUES from 3.13; the others are the same in 3.8-3.13.
constexpr std::uint64_t kTpInlineValues = 1ull << 2;
constexpr std::uint64_t kTpManagedDict = 1ull << 4;
constexpr std::uint64_t kTpHeapType = 1ull << 9;
constexpr std::uint64_t kTpLongSubclass = 1ull << 24;
constexpr std::uint64_t kTpListSubclass = 1ull << 25;
constexpr std::uint64_t kTpTupleSubclass = 1ull << 26;
constexpr std::uint64_t kTpBytesSubclass = 1ull << 27;
constexpr std::uint64_t kTpUnicodeSubclass = 1ull << 28;
constexpr std::uint64_t kTpDictSubclass = 1ull << 29;
constexpr std::uint64_t kTpBaseExcSubclass = 1ull << 30;
constexpr std::uint64_t kTpTypeSubclass = 1ull << 31;

// DICT_KEYS_GENERAL, Include/internal/pycore_dict.h (3.11+): entries are
// PyDictKeyEntry; the other kinds (UNICODE, SPLIT) use PyDictUnicodeEntry.
constexpr std::uint8_t kDictKeysGeneral = 0;

// co_localspluskinds bits, Include/internal/pycore_code.h (3.11+).
constexpr std::uint8_t kCoFastCell = 0x40;
constexpr std::uint8_t kCoFastFree = 0x80;

// PyLong_SHIFT: 30 on every 64-bit build we support (digit is uint32_t).
constexpr int kLongShift = 30;
constexpr std::uint64_t kPtrSize = 8;
constexpr std::uint64_t kPageSize = 4096;
constexpr std::size_t kChunkBytes = 4096;

// The type of set.discard()'s dummy entries (Objects/setobject.c,
// _PySetDummy_Type). python-gdb.py compares keys with the _PySet_Dummy
// symbol; its type name identifies it without a symbol lookup.
constexpr std::string_view kSetDummyTypeName = "<dummy key> type";

// Reads dst a page at a time: one read may serve only one mapping, and an
// object can straddle two readable ones.
Result<void> read_paged(const RemoteMemory& memory, RemoteAddr addr, std::span<std::byte> dst) {
  if (addr.as_int() > std::numeric_limits<std::uint64_t>::max() - dst.size())
    return fail(ErrorCode::kBadRemoteAddress,
                fmt::format("read at {:#x} wraps around", addr.as_int()));
  std::size_t done = 0;
  while (done < dst.size()) {
    std::uint64_t at = addr.as_int() + done;
    std::size_t n = std::min<std::size_t>(kPageSize - at % kPageSize, dst.size() - done);
    if (auto r = memory.read(RemoteAddr(at), dst.subspan(done, n)); !r)
      return std::unexpected(r.error());
    done += n;
  }
  return {};
}

template <class T>
T load(std::span<const std::byte> bytes, std::size_t at) {
  T v;
  std::memcpy(&v, bytes.data() + at, sizeof v);
  return v;
}

// Decoded WTF-8 helpers are public (values.h); these are their internals.
std::size_t utf8_length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if ((lead & 0xe0) == 0xc0) return 2;
  if ((lead & 0xf0) == 0xe0) return 3;
  if ((lead & 0xf8) == 0xf0) return 4;
  return 0;
}

}  // namespace

void append_wtf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xe0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

char32_t next_wtf8(std::string_view text, std::size_t& pos) {
  auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  unsigned char lead = byte(pos);
  std::size_t n = utf8_length(lead);
  if (n == 1) {
    ++pos;
    return lead;
  }
  if (n == 0 || pos + n > text.size()) {
    ++pos;
    return kInvalidByte | lead;
  }
  char32_t cp = lead & (0xff >> (n + 1));
  for (std::size_t i = 1; i < n; ++i) {
    unsigned char c = byte(pos + i);
    if ((c & 0xc0) != 0x80) {
      ++pos;
      return kInvalidByte | lead;
    }
    cp = cp << 6 | (c & 0x3f);
  }
  // Overlong forms and values past U+10FFFF are not WTF-8.
  static constexpr std::array<char32_t, 5> kMin{0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[n] || cp > 0x10ffff) {
    ++pos;
    return kInvalidByte | lead;
  }
  pos += n;
  return cp;
}

std::size_t PyValue::node_count() const {
  std::size_t n = 1;
  for (const auto& c : children) n += c.node_count();
  return n;
}

std::string_view scope_name(VariableLookup::Scope scope) {
  switch (scope) {
    case VariableLookup::Scope::kLocal:
      return "local";
    case VariableLookup::Scope::kGlobal:
      return "global";
    case VariableLookup::Scope::kBuiltin:
      return "builtin";
  }
  return "local";
}

namespace {

struct TypeInfo {
  bool name_ok = false;   // tp_name read
  bool flags_ok = false;  // tp_flags read
  std::string name;       // "unknown" unless name_ok
  std::uint64_t flags = 0;
  // Only what instances of heap types need; zero when unreadable.
  std::int64_t basicsize = 0, itemsize = 0, dictoffset = 0;
  bool layout_ok = false;
  RemoteAddr cached_keys;  // ht_cached_keys (3.11+)
};

// A bounded array of fixed-size elements in the target, read a chunk at a
// time. If a whole chunk is unreadable, retries with just the element asked
// for, so garbage past the real end of an array does not hide the start.
class ChunkedArray {
 public:
  ChunkedArray(const RemoteMemory& memory, RemoteAddr base, std::uint64_t elem_size,
               std::uint64_t count)
      : memory_(memory), base_(base), elem_(elem_size), count_(count) {}

  Result<std::span<const std::byte>> at(std::uint64_t i) {
    if (i >= count_ || elem_ == 0 || elem_ > kChunkBytes)
      return fail(ErrorCode::kInternal, "array index out of range");
    if (i < first_ || i >= first_ + held_) {
      std::uint64_t n = std::min<std::uint64_t>(count_ - i, kChunkBytes / elem_);
      if (!fill(i, n) && !fill(i, 1))
        return fail(ErrorCode::kBadRemoteAddress,
                    fmt::format("unreadable array element at {:#x}",
                                base_.as_int() + i * elem_));
    }
    return std::span<const std::byte>(buffer_).subspan((i - first_) * elem_, elem_);
  }

 private:
  bool fill(std::uint64_t first, std::uint64_t n) {
    buffer_.resize(n * elem_);
    if (!read_paged(memory_, base_ + first * elem_, buffer_)) {
      held_ = 0;
      return false;
    }
    first_ = first;
    held_ = n;
    return true;
  }
  const RemoteMemory& memory_;
  RemoteAddr base_;
  std::uint64_t elem_, count_;
  std::uint64_t first_ = 0, held_ = 0;
  std::vector<std::byte> buffer_;
};

// Base-2^30 digits (least significant first) to decimal text.
std::string digits_to_decimal(std::span<const std::uint32_t> digits, bool negative) {
  constexpr std::uint64_t kBase = 1000000000;  // 10^9 per limb
  std::vector<std::uint32_t> limbs;            // least significant first
  for (std::size_t k = digits.size(); k-- > 0;) {
    std::uint64_t carry = digits[k];
    for (auto& limb : limbs) {
      std::uint64_t v = (static_cast<std::uint64_t>(limb) << kLongShift) + carry;
      limb = static_cast<std::uint32_t>(v % kBase);
      carry = v / kBase;
    }
    while (carry != 0) {
      limbs.push_back(static_cast<std::uint32_t>(carry % kBase));
      carry /= kBase;
    }
  }
  if (limbs.empty()) return "0";
  std::string out = negative ? "-" : "";
  out += fmt::format("{}", limbs.back());
  for (std::size_t k = limbs.size() - 1; k-- > 0;) out += fmt::format("{:09}", limbs[k]);
  return out;
}

}  // namespace

struct ValueReader::Impl {
  const RemoteMemory& memory;
  const Offsets& o;
  ReadLimits limits;
  std::unordered_map<RemoteAddr, TypeInfo> types;
  CodeCache codes;

  // State of one top-level read.
  std::size_t nodes_left = 0;
  std::unordered_set<RemoteAddr> on_path;  // containers being printed (cycles)

  Impl(const RemoteMemory& m, const Offsets& offsets, const ReadLimits& l)
      : memory(m), o(offsets), limits(l) {}

  // ---- raw fields
  template <class T>
  Result<T> field(RemoteAddr base, std::uint64_t offset) {
    if (offset == kAbsent)
      return fail(ErrorCode::kDebugInfo, "a field this build's debug info lacks");
    return memory.read_value<T>(base + offset);
  }
  Result<RemoteAddr> pointer(RemoteAddr base, std::uint64_t offset) {
    auto v = field<std::uint64_t>(base, offset);
    if (!v) return std::unexpected(v.error());
    return RemoteAddr(*v);
  }

  const TypeInfo& type_info(RemoteAddr type) {
    auto [it, inserted] = types.try_emplace(type);
    TypeInfo& t = it->second;
    if (!inserted) return t;
    t.name = "unknown";
    if (auto name_ptr = pointer(type, o.type.tp_name); name_ptr && *name_ptr) {
      if (auto name = memory.read_c_string(*name_ptr, limits.max_name_chars)) {
        t.name = std::move(*name);
        t.name_ok = true;
      }
    }
    if (auto flags = field<std::uint64_t>(type, o.type_slots.tp_flags)) {
      t.flags = *flags;
      t.flags_ok = true;
    }
    auto basic = field<std::int64_t>(type, o.type_slots.tp_basicsize);
    auto item = field<std::int64_t>(type, o.type_slots.tp_itemsize);
    auto dictoff = field<std::int64_t>(type, o.type_slots.tp_dictoffset);
    if (basic && item && dictoff) {
      t.basicsize = *basic;
      t.itemsize = *item;
      t.dictoffset = *dictoff;
      t.layout_ok = true;
    }
    if (o.type_slots.ht_cached_keys != kAbsent && (t.flags & kTpHeapType))
      t.cached_keys = pointer(type, o.type_slots.ht_cached_keys).value_or(RemoteAddr());
    return t;
  }

  // The type of obj, or nullptr if ob_type is unreadable.
  const TypeInfo* type_of(RemoteAddr obj) {
    auto type = pointer(obj, o.object.ob_type);
    if (!type || !*type) return nullptr;
    return &type_info(*type);
  }

  // ---- node constructors
  static PyValue make(ValueKind kind, RemoteAddr addr, std::string type_name = {}) {
    PyValue v;
    v.kind = kind;
    v.address = addr;
    v.type_name = std::move(type_name);
    return v;
  }
  static PyValue unreadable(RemoteAddr addr, std::string type_name = "unknown") {
    return make(ValueKind::kUnreadable, addr, std::move(type_name));
  }
  static PyValue elided(RemoteAddr addr) { return make(ValueKind::kElided, addr); }
  // Turns a partly built node into kUnreadable: python-gdb.py raises for
  // these (gdb then prints an error instead of the whole value); we keep the
  // rest of the value and show this object as <TYPE at remote 0x...>.
  static PyValue give_up(PyValue&& v) {
    return unreadable(v.address, std::move(v.type_name));
  }

  // Budget for a fresh top-level read.
  void start(std::size_t budget) {
    nodes_left = budget;
    on_path.clear();
  }

  // ---- the dispatcher
  PyValue value(RemoteAddr obj, std::size_t depth) {
    if (!obj) return make(ValueKind::kNull, obj);
    if (nodes_left == 0 || depth > limits.max_depth) return elided(obj);
    --nodes_left;
    const TypeInfo* t = type_of(obj);
    if (t == nullptr || !t->name_ok) return unreadable(obj);
    if (!t->flags_ok) return make(ValueKind::kOther, obj, t->name);  // python-gdb: base class
    const std::string& n = t->name;
    const bool heap = t->flags & kTpHeapType;
    // python-gdb.py looks these names up before checking Py_TPFLAGS_HEAPTYPE,
    // so an instance of a user class named e.g. "frame" or "set" is read with
    // the wrong layout there. We match them on static types only.
    if (!heap) {
      if (n == "bool") return read_bool(obj, *t);
      if (n == "NoneType") return make(ValueKind::kNone, obj, n);
      if (n == "frame") return read_frame_object(obj, depth);
      if (n == "set" || n == "frozenset") return read_set(obj, *t, depth);
      if (n == "builtin_function_or_method") return read_cfunction(obj, *t);
      if (n == "method-wrapper") return read_method_wrapper(obj, *t);
    }
    if (heap) return read_instance(obj, *t, depth);
    if (t->flags & kTpLongSubclass) return read_int(obj, *t);
    if (t->flags & kTpListSubclass) return read_list(obj, *t, depth);
    if (t->flags & kTpTupleSubclass) return read_tuple(obj, *t, depth);
    if (t->flags & kTpBytesSubclass) return read_bytes(obj, *t);
    if (t->flags & kTpUnicodeSubclass) return read_str(obj, *t);
    if (t->flags & kTpDictSubclass) return read_dict(obj, *t, depth);
    if (t->flags & kTpBaseExcSubclass) return read_exception(obj, *t, depth);
    // From here on python-gdb.py has no printer (<TYPE at remote 0x...>);
    // float, complex and bytearray we print as Python's repr() does.
    if (n == "float") return read_float(obj, *t);
    if (n == "complex") return read_complex(obj, *t);
    if (n == "bytearray") return read_bytearray(obj, *t);
    if (n == "function") return read_function(obj, *t);
    if (n == "method") return read_method(obj, *t);
    if (n == "module") return read_module(obj, *t);
    if (n == "code") return read_code(obj, *t);
    if (n == "cell") return read_cell(obj, *t);
    if (t->flags & kTpTypeSubclass) return read_type(obj, *t);
    return make(ValueKind::kOther, obj, n);
  }

  // A child of a container at `depth`. Returns false when the budget ran out
  // (the child is then kElided and the container should stop).
  bool add_child(PyValue& parent, RemoteAddr obj, std::size_t depth) {
    parent.children.push_back(value(obj, depth + 1));
    if (parent.children.back().kind == ValueKind::kElided) {
      parent.truncated = true;
      return false;
    }
    return true;
  }

  // Cycle guard: python-gdb.py keeps every container it has printed in
  // `visited` and never removes it, so an object met twice anywhere -- [x, x]
  // -- prints as [[1], [...]] although there is no cycle. We track only the
  // containers being printed (Python's Py_ReprEnter/Py_ReprLeave), so only a
  // real cycle prints [...].
  struct PathGuard {
    Impl& impl;
    RemoteAddr addr;
    ~PathGuard() { impl.on_path.erase(addr); }
  };
  bool is_on_path(RemoteAddr obj) const { return on_path.count(obj) != 0; }
  static PyValue cycle(RemoteAddr obj, ValueKind of, std::string type_name) {
    PyValue v = make(ValueKind::kCycle, obj, std::move(type_name));
    v.of = of;
    return v;
  }

  // ---- numbers
  // The digit count and sign of an int.
  struct IntParts {
    bool negative = false;
    std::uint64_t ndigits = 0;
  };
  Result<IntParts> int_parts(RemoteAddr obj) {
    IntParts p;
    if (o.long_object.lv_tag != kAbsent) {
      // 3.12+ (Include/cpython/longintrepr.h): lv_tag = ndigits << 3 | sign,
      // sign 0 positive, 1 zero, 2 negative.
      auto tag = PYATTACH_TRY(field<std::uint64_t>(obj, o.long_object.lv_tag));
      p.ndigits = tag >> 3;
      p.negative = (tag & 3) == 2;
    } else {
      // <=3.11: ob_size holds the digit count, negative for negative ints.
      auto size = PYATTACH_TRY(field<std::int64_t>(obj, o.object.ob_size));
      p.negative = size < 0;
      p.ndigits = size < 0 ? 0 - static_cast<std::uint64_t>(size) : static_cast<std::uint64_t>(size);
    }
    return p;
  }
  // The decimal text of an int; empty with truncated set when too large.
  Result<std::string> int_text(RemoteAddr obj, bool& truncated) {
    IntParts p = PYATTACH_TRY(int_parts(obj));
    if (p.ndigits == 0) return std::string("0");
    if (p.ndigits > limits.max_int_digits) {
      truncated = true;
      return std::string();
    }
    std::vector<std::byte> raw(p.ndigits * 4);
    if (o.long_object.ob_digit == kAbsent)
      return fail(ErrorCode::kDebugInfo, "no PyLongObject.ob_digit");
    if (auto r = read_paged(memory, obj + o.long_object.ob_digit, raw); !r)
      return std::unexpected(r.error());
    std::vector<std::uint32_t> digits(p.ndigits);
    std::memcpy(digits.data(), raw.data(), raw.size());
    return digits_to_decimal(digits, p.negative);
  }
  PyValue read_int(RemoteAddr obj, const TypeInfo& t) {
    PyValue v = make(ValueKind::kInt, obj, t.name);
    auto text = int_text(obj, v.truncated);
    if (!text) return give_up(std::move(v));
    v.text = std::move(*text);
    return v;
  }
  PyValue read_bool(RemoteAddr obj, const TypeInfo& t) {
    // python-gdb.py reads bool as an int and tests it for truth.
    PyValue v = make(ValueKind::kBool, obj, t.name);
    auto p = int_parts(obj);
    if (!p) return give_up(std::move(v));
    v.flag = p->ndigits != 0;
    return v;
  }
  PyValue read_float(RemoteAddr obj, const TypeInfo& t) {
    PyValue v = make(ValueKind::kFloat, obj, t.name);
    auto d = field<double>(obj, o.number.ob_fval);
    if (!d) return give_up(std::move(v));
    v.real = *d;
    return v;
  }
  PyValue read_complex(RemoteAddr obj, const TypeInfo& t) {
    PyValue v = make(ValueKind::kComplex, obj, t.name);
    auto re = field<double>(obj, o.number.cval_real);
    auto im = field<double>(obj, o.number.cval_imag);
    if (!re || !im) return give_up(std::move(v));
    v.real = *re;
    v.imag = *im;
    return v;
  }

  // ---- str and bytes
  // A str's code points as WTF-8, at most max_chars of them. Same forms as
  // read_unicode (strings.h), which we do not use because it writes lone
  // surrogates as the text "\udxxx", which a repr could not tell apart from
  // a backslash in the string.
  Result<void> str_text(RemoteAddr obj, std::size_t max_chars, PyValue& v) {
    const UnicodeLayout& u = o.unicode;
    auto length = PYATTACH_TRY(field<std::int64_t>(obj, u.length_offset));
    auto state = PYATTACH_TRY(field<std::uint32_t>(obj, u.state_offset));
    int kind = static_cast<int>((state >> u.kind_shift) & 7);
    bool compact = (state >> u.compact_shift) & 1;
    bool ascii = (state >> u.ascii_shift) & 1;
    // Kind 0 is a 3.8-3.11 str that is not ready (wstr only); python-gdb.py
    // reads wstr there, we give up on it.
    if ((kind != 1 && kind != 2 && kind != 4) || (ascii && kind != 1) || length < 0 ||
        static_cast<std::uint64_t>(length) > (std::uint64_t{1} << 48))
      return fail(ErrorCode::kCorruptData, "not a valid str");
    v.length = static_cast<std::uint64_t>(length);
    std::uint64_t n = std::min<std::uint64_t>(v.length, max_chars);
    v.truncated = n < v.length;
    if (n == 0) return {};
    RemoteAddr data;
    if (compact) {
      data = obj + (ascii ? u.ascii_size : u.compact_size);
    } else {
      data = PYATTACH_TRY(pointer(obj, u.legacy_data_offset));
      if (!data) return fail(ErrorCode::kCorruptData, "non-compact str without data");
    }
    std::vector<std::byte> raw(n * static_cast<std::uint64_t>(kind));
    if (auto r = read_paged(memory, data, raw); !r) return r;
    v.text.reserve(raw.size());
    for (std::uint64_t i = 0; i < n; ++i) {
      char32_t cp = kind == 1   ? std::to_integer<char32_t>(raw[i])
                    : kind == 2 ? load<std::uint16_t>(raw, 2 * i)
                                : load<std::uint32_t>(raw, 4 * i);
      if (cp > 0x10ffff) return fail(ErrorCode::kCorruptData, "code point above U+10FFFF");
      append_wtf8(v.text, cp);
    }
    return {};
  }
  PyValue read_str(RemoteAddr obj, const TypeInfo& t) {
    PyValue v = make(ValueKind::kStr, obj, t.name);
    if (!str_text(obj, limits.max_str_chars, v)) return give_up(std::move(v));
    return v;
  }
  // A str's text for use as a name (attribute, variable, dict key match).
  std::optional<std::string> name_text(RemoteAddr obj) {
    const TypeInfo* t = obj ? type_of(obj) : nullptr;
    if (t == nullptr || !(t->flags & kTpUnicodeSubclass)) return std::nullopt;
    PyValue v;
    if (!str_text(obj, limits.max_name_chars, v)) return std::nullopt;
    return std::move(v.text);
  }
  PyValue read_bytes(RemoteAddr obj, const TypeInfo& t) {
    PyValue v = make(ValueKind::kBytes, obj, t.name);
    auto b = read_bytes_object(memory, obj, o.bytes, limits.max_bytes);
    if (!b) return give_up(std::move(v));
    v.text = std::move(b->data);
    v.length = b->length;
    v.truncated = b->truncated;
    return v;
  }
  PyValue read_bytearray(RemoteAddr obj, const TypeInfo& t) {
    PyValue v = make(ValueKind::kByteArray, obj, t.name);
    auto size = field<std::int64_t>(obj, o.object.ob_size);
    auto start = pointer(obj, o.sequence.bytearray_ob_start);
    if (!size || !start || *size < 0) return give_up(std::move(v));
    v.length = static_cast<std::uint64_t>(*size);
    std::uint64_t n = std::min<std::uint64_t>(v.length, limits.max_bytes);
    v.truncated = n < v.length;
    if (n > 0) {
      std::vector<std::byte> raw(n);
      if (!*start || !read_paged(memory, *start, raw)) return give_up(std::move(v));
      v.text.assign(reinterpret_cast<const char*>(raw.data()), raw.size());
    }
    return v;
  }

  // ---- list and tuple
  PyValue read_sequence(RemoteAddr obj, const TypeInfo& t, ValueKind kind, RemoteAddr items,
                        std::size_t depth) {
    if (is_on_path(obj)) return cycle(obj, kind, t.name);
    PyValue v = make(kind, obj, t.name);
    auto size = field<std::int64_t>(obj, o.object.ob_size);
    if (!size || *size < 0) return give_up(std::move(v));
    v.length = static_cast<std::uint64_t>(*size);
    on_path.insert(obj);
    PathGuard guard{*this, obj};
    ChunkedArray array(memory, items, kPtrSize, v.length);
    for (std::uint64_t i = 0; i < v.length; ++i) {
      if (nodes_left == 0) {  // the next child could only be elided
        v.children.push_back(elided(RemoteAddr()));
        v.truncated = true;
        break;
      }
      auto item = array.at(i);
      if (!item) return give_up(std::move(v));
      if (!add_child(v, RemoteAddr(load<std::uint64_t>(*item, 0)), depth)) break;
    }
    return v;
  }
  PyValue read_list(RemoteAddr obj, const TypeInfo& t, std::size_t depth) {
    auto items = pointer(obj, o.sequence.list_ob_item);
    if (!items) return unreadable(obj, t.name);
    return read_sequence(obj, t, ValueKind::kList, *items, depth);
  }
  PyValue read_tuple(RemoteAddr obj, const TypeInfo& t, std::size_t depth) {
    if (o.sequence.tuple_ob_item == kAbsent) return unreadable(obj, t.name);
    return read_sequence(obj, t, ValueKind::kTuple, obj + o.sequence.tuple_ob_item, depth);
  }

  // ---- dicts
  // The entries of a keys object: where they start, how many, their layout.
  struct KeysLayout {
    RemoteAddr entries;
    std::uint64_t nentries = 0;
    std::uint64_t entry_size = 0, me_key = 0, me_value = 0;
  };
  Result<KeysLayout> keys_layout(RemoteAddr keys) {
    const auto& k = o.dict_keys;
    const auto& e = o.dict_entry;
    KeysLayout l;
    std::uint64_t index_bytes = 0;
    bool general = true;
    if (k.dk_log2_index_bytes != kAbsent) {
      // 3.11+: the indices take 1 << dk_log2_index_bytes bytes.
      auto log2_bytes = PYATTACH_TRY(field<std::uint8_t>(keys, k.dk_log2_index_bytes));
      auto kind = PYATTACH_TRY(field<std::uint8_t>(keys, k.dk_kind));
      if (log2_bytes > 40) return fail(ErrorCode::kCorruptData, "impossible dict size");
      index_bytes = std::uint64_t{1} << log2_bytes;
      general = kind == kDictKeysGeneral;
    } else {
      // <=3.10: dk_size slots of 1, 2, 4 or 8 bytes (DK_IXSIZE).
      auto size = PYATTACH_TRY(field<std::int64_t>(keys, k.dk_size));
      if (size <= 0 || size > (std::int64_t{1} << 40))
        return fail(ErrorCode::kCorruptData, "impossible dict size");
      auto s = static_cast<std::uint64_t>(size);
      index_bytes = s * (s <= 0xff ? 1 : s <= 0xffff ? 2 : s <= 0xffffffff ? 4 : 8);
    }
    auto nentries = PYATTACH_TRY(field<std::int64_t>(keys, k.dk_nentries));
    if (nentries < 0) return fail(ErrorCode::kCorruptData, "negative dk_nentries");
    if (k.dk_indices == kAbsent) return fail(ErrorCode::kDebugInfo, "no dk_indices");
    l.entries = keys + k.dk_indices + index_bytes;
    l.nentries = static_cast<std::uint64_t>(nentries);
    if (general) {
      l.entry_size = e.size;
      l.me_key = e.me_key;
      l.me_value = e.me_value;
    } else {
      l.entry_size = e.unicode_size;
      l.me_key = e.unicode_me_key;
      l.me_value = e.unicode_me_value;
    }
    if (l.entry_size == kAbsent || l.me_key == kAbsent || l.me_value == kAbsent)
      return fail(ErrorCode::kDebugInfo, "no dict entry layout");
    return l;
  }

  // The insertion order of a 3.11+ values array (`values` is the PyObject*
  // array itself): the entry indices, oldest first; nullopt if absent or
  // unreadable.
  std::optional<std::vector<std::uint8_t>> insertion_order(RemoteAddr values) {
    if (!o.version.at_least(3, 11) || o.dict_values.values == kAbsent) return std::nullopt;
    if (o.version.at_least(3, 13)) {
      // 3.13 Include/internal/pycore_dict.h: struct _dictvalues { uint8_t
      // capacity; uint8_t size; uint8_t embedded; uint8_t valid; PyObject
      // *values[1]; }, and get_insertion_order_array() is
      // (uint8_t *)&values->values[values->capacity]: `size` indices there.
      constexpr std::uint64_t kCapacity = 0, kSize = 1;
      RemoteAddr base = values - o.dict_values.values;
      auto capacity = field<std::uint8_t>(base, kCapacity);
      auto size = field<std::uint8_t>(base, kSize);
      if (!capacity || !size || *size > *capacity) return std::nullopt;
      std::vector<std::uint8_t> order(*size);
      if (!order.empty() &&
          !read_paged(memory, values + std::uint64_t{*capacity} * kPtrSize,
                      std::as_writable_bytes(std::span(order))))
        return std::nullopt;
      return order;
    }
    // 3.11/3.12 Objects/dictobject.c new_values() puts a prefix of
    // DICT_VALUES_SIZE(values) == ((uint8_t *)values)[-1] bytes (a multiple
    // of the pointer size) before the array; ((uint8_t *)values)[-2] is the
    // number of indices in use, and index i is ((uint8_t *)values)[-3 - i]
    // (_PyDictValues_AddToInsertionOrder, get_index_from_order).
    auto prefix = field<std::uint8_t>(values - 1, 0);
    if (!prefix || *prefix < 2 || *prefix % kPtrSize != 0) return std::nullopt;
    std::vector<std::uint8_t> bytes(*prefix);
    if (!read_paged(memory, values - *prefix, std::as_writable_bytes(std::span(bytes))))
      return std::nullopt;
    std::size_t used = bytes[*prefix - 2];
    if (used + 2 > *prefix) return std::nullopt;
    std::vector<std::uint8_t> order(used);
    for (std::size_t i = 0; i < used; ++i) order[i] = bytes[*prefix - 3 - i];
    return order;
  }
  // The (index, value) pairs of a 3.11+ values array of n entries in
  // insertion order; nullopt unless the order names each non-NULL value
  // exactly once and nothing else.
  std::optional<std::vector<std::pair<std::uint64_t, std::uint64_t>>> ordered_values(
      RemoteAddr values, std::uint64_t n) {
    auto order = insertion_order(values);
    if (!order || n > 256) return std::nullopt;
    std::vector<std::uint64_t> vals(n);
    if (!read_paged(memory, values, std::as_writable_bytes(std::span(vals)))) return std::nullopt;
    std::vector<bool> seen(n, false);
    std::vector<std::pair<std::uint64_t, std::uint64_t>> out;
    for (std::uint8_t index : *order) {
      if (index >= n || seen[index] || vals[index] == 0) return std::nullopt;
      seen[index] = true;
      out.emplace_back(index, vals[index]);
    }
    std::size_t live = 0;
    for (auto v : vals) live += v != 0;
    if (live != out.size()) return std::nullopt;
    return out;
  }

  // Calls fn(key, value) for each entry with a non-NULL value, in entry
  // order, as python-gdb.py's iteritems does: from the values array when
  // `values` (the PyObject* array itself) is non-null, else from the
  // entries. fn returns false to stop. At most max_scan entries are looked at.
  // A 3.11+ values array is walked in its insertion order instead, as Python
  // iterates it (python-gdb.py uses key order), when that order is readable
  // and consistent with the array; otherwise in key order.
  template <class Fn>
  Result<void> for_each_entry(RemoteAddr keys, RemoteAddr values, Fn&& fn) {
    KeysLayout l = PYATTACH_TRY(keys_layout(keys));
    std::uint64_t n = std::min<std::uint64_t>(l.nentries, limits.max_scan);
    ChunkedArray entries(memory, l.entries, l.entry_size, n);
    if (values && n > 0) {
      if (auto order = ordered_values(values, n)) {
        for (auto [index, value] : *order) {
          auto entry = PYATTACH_TRY(entries.at(index));
          if (!fn(RemoteAddr(load<std::uint64_t>(entry, l.me_key)), RemoteAddr(value))) break;
        }
        return {};
      }
    }
    std::optional<ChunkedArray> vals;
    if (values) vals.emplace(memory, values, kPtrSize, n);
    for (std::uint64_t i = 0; i < n; ++i) {
      auto entry = PYATTACH_TRY(entries.at(i));
      std::uint64_t value = 0;
      if (vals) {
        value = load<std::uint64_t>(PYATTACH_TRY(vals->at(i)), 0);
      } else {
        value = load<std::uint64_t>(entry, l.me_value);
      }
      if (value == 0) continue;
      if (!fn(RemoteAddr(load<std::uint64_t>(entry, l.me_key)), RemoteAddr(value))) break;
    }
    return {};
  }
  // The same over a dict object.
  template <class Fn>
  Result<void> for_each_item(RemoteAddr dict, Fn&& fn) {
    auto keys = PYATTACH_TRY(pointer(dict, o.dict.ma_keys));
    auto values = PYATTACH_TRY(pointer(dict, o.dict.ma_values));
    if (values && o.dict_values.values != kAbsent) values = values + o.dict_values.values;
    if (values && o.version.at_least(3, 11) && o.dict_values.values == kAbsent)
      return fail(ErrorCode::kDebugInfo, "no PyDictValues.values");
    return for_each_entry(keys, values, std::forward<Fn>(fn));
  }
  // Reads key/value children into v; false if an entry was unreadable.
  template <class Source>
  bool read_items(PyValue& v, std::size_t depth, Source&& source) {
    bool stopped = false;
    auto r = source([&](RemoteAddr key, RemoteAddr value) {
      if (nodes_left == 0) {
        v.children.push_back(elided(RemoteAddr()));
        v.truncated = stopped = true;
        return false;
      }
      if (!add_child(v, key, depth) || !add_child(v, value, depth)) {
        stopped = true;
        return false;
      }
      return true;
    });
    return r.has_value() || stopped;
  }
  PyValue read_dict(RemoteAddr obj, const TypeInfo& t, std::size_t depth) {
    if (is_on_path(obj)) return cycle(obj, ValueKind::kDict, t.name);
    PyValue v = make(ValueKind::kDict, obj, t.name);
    auto used = field<std::int64_t>(obj, o.dict.ma_used);
    if (!used) return give_up(std::move(v));
    v.length = static_cast<std::uint64_t>(std::max<std::int64_t>(*used, 0));
    on_path.insert(obj);
    PathGuard guard{*this, obj};
    if (!read_items(v, depth, [&](auto&& fn) { return for_each_item(obj, fn); }))
      return give_up(std::move(v));
    return v;
  }

  // ---- sets
  PyValue read_set(RemoteAddr obj, const TypeInfo& t, std::size_t depth) {
    ValueKind kind = t.name == "frozenset" ? ValueKind::kFrozenSet : ValueKind::kSet;
    if (is_on_path(obj)) return cycle(obj, kind, t.name);
    PyValue v = make(kind, obj, t.name);
    auto used = field<std::int64_t>(obj, o.set.used);
    auto mask = field<std::int64_t>(obj, o.set.mask);
    auto table = pointer(obj, o.set.table);
    if (!used || !mask || !table || *mask < 0 || o.set.entry_size == kAbsent ||
        o.set.entry_key == kAbsent)
      return give_up(std::move(v));
    v.length = static_cast<std::uint64_t>(std::max<std::int64_t>(*used, 0));
    if (*used == 0) return v;  // set_repr: "set()" without looking at the table
    on_path.insert(obj);
    PathGuard guard{*this, obj};
    std::uint64_t slots =
        std::min<std::uint64_t>(static_cast<std::uint64_t>(*mask) + 1, limits.max_scan);
    ChunkedArray entries(memory, *table, o.set.entry_size, slots);
    for (std::uint64_t i = 0; i < slots; ++i) {
      auto entry = entries.at(i);
      if (!entry) return give_up(std::move(v));
      RemoteAddr key(load<std::uint64_t>(*entry, o.set.entry_key));
      if (!key) continue;
      if (const TypeInfo* kt = type_of(key); kt && kt->name == kSetDummyTypeName) continue;
      if (nodes_left == 0) {
        v.children.push_back(elided(RemoteAddr()));
        v.truncated = true;
        break;
      }
      if (!add_child(v, key, depth)) break;
    }
    return v;
  }

  // ---- instances of heap types
  // Where an instance keeps its attributes; python-gdb.py's
  // HeapTypeObjectPtr.get_keys_values and get_attr_dict, per version.
  struct AttrSource {
    RemoteAddr dict;          // a dict object, or
    RemoteAddr keys, values;  // shared keys + a PyObject* values array, or
    bool empty = false;       // no attributes, shown as "()"
  };
  std::optional<AttrSource> attr_source(RemoteAddr obj, const TypeInfo& t) {
    const auto& v = o.version;
    if (v.at_least(3, 11) && (t.flags & kTpManagedDict)) {
      RemoteAddr values_base;  // a PyDictValues*
      if (v.is(3, 11)) {
        // 3.11 (Include/internal/pycore_object.h): the values pointer sits 4
        // words before the object, the dict pointer 3 words before.
        values_base = pointer(obj - 4 * kPtrSize, 0).value_or(RemoteAddr());
      } else if (v.is(3, 12)) {
        // 3.12: one word 3 before the object, PyDictOrValues: a dict, or
        // values - 1 (odd) when the object still has its values array.
        auto dorv = pointer(obj - 3 * kPtrSize, 0);
        if (!dorv) return std::nullopt;
        if (dorv->as_int() & 1) values_base = *dorv + 1;
      } else {
        // 3.13: the dict pointer 3 words before; with no dict, the inline
        // values follow the object (Py_TPFLAGS_INLINE_VALUES) while `valid`.
        // python-gdb.py 3.13 reads them at obj + sizeof(PyObject) without
        // checking the flag or `valid` (CPython puts them at tp_basicsize),
        // so it prints "()" -- or garbage -- for an object that has neither
        // (a str subclass, say). Such an object has no attributes, so we
        // print "()" too.
        auto dict = pointer(obj - 3 * kPtrSize, 0);
        if (!dict) return std::nullopt;
        if (*dict) return AttrSource{*dict, {}, {}, false};
        AttrSource none{{}, {}, {}, true};
        if (!(t.flags & kTpInlineValues) || !t.layout_ok || t.basicsize <= 0) return none;
        values_base = obj + static_cast<std::uint64_t>(t.basicsize);
        if (o.dict_values.valid != kAbsent &&
            field<std::uint8_t>(values_base, o.dict_values.valid).value_or(0) == 0)
          return none;
      }
      if (values_base && t.cached_keys && o.dict_values.values != kAbsent)
        return AttrSource{{}, t.cached_keys, values_base + o.dict_values.values, false};
      if (v.at_least(3, 13)) return std::nullopt;
    }
    // _PyObject_GetDictPtr: tp_dictoffset, negative = from the end of a
    // variable-size object.
    // Address arithmetic is done modulo 2^64: the sizes may be garbage.
    if (!t.layout_ok || t.dictoffset == 0) return std::nullopt;
    auto offset = static_cast<std::uint64_t>(t.dictoffset);
    if (t.dictoffset < 0) {
      if (v.at_least(3, 12) && (t.flags & kTpManagedDict)) {
        offset = 0 - 3 * kPtrSize;  // tp_dictoffset is -1
      } else {
        auto size = field<std::int64_t>(obj, o.object.ob_size);
        if (!size) return std::nullopt;
        std::uint64_t n = *size < 0 ? 0 - static_cast<std::uint64_t>(*size)
                                    : static_cast<std::uint64_t>(*size);
        std::uint64_t var = static_cast<std::uint64_t>(t.basicsize) +
                            n * static_cast<std::uint64_t>(t.itemsize);
        offset += (var + kPtrSize - 1) & ~(kPtrSize - 1);
      }
    }
    auto dict = pointer(obj + offset, 0);
    if (!dict || !*dict) return std::nullopt;
    if (v.at_least(3, 12) && (dict->as_int() & 1)) return std::nullopt;  // values, not a dict
    return AttrSource{*dict, {}, {}, false};
  }
  PyValue read_instance(RemoteAddr obj, const TypeInfo& t, std::size_t depth) {
    if (is_on_path(obj)) return cycle(obj, ValueKind::kInstance, t.name);
    PyValue v = make(ValueKind::kInstance, obj, t.name);
    auto source = attr_source(obj, t);
    if (!source) return v;  // <Name at remote 0x...>
    if (source->dict) {
      // python-gdb.py prints attributes only when the __dict__ object is a
      // dict by its own dispatch (a static dict type).
      const TypeInfo* dt = type_of(source->dict);
      if (dt == nullptr || (dt->flags & kTpHeapType) || !(dt->flags & kTpDictSubclass))
        return v;
    }
    v.flag = true;
    if (source->empty) return v;
    on_path.insert(obj);
    PathGuard guard{*this, obj};
    bool ok = source->dict
                  ? read_items(v, depth, [&](auto&& fn) { return for_each_item(source->dict, fn); })
                  : read_items(v, depth, [&](auto&& fn) {
                      return for_each_entry(source->keys, source->values, fn);
                    });
    if (!ok) {
      // The attributes are unreadable but the object is not: show it bare.
      v.children.clear();
      v.flag = false;
    }
    return v;
  }

  // ---- exceptions, functions, classes, modules, code, cells
  PyValue read_exception(RemoteAddr obj, const TypeInfo& t, std::size_t depth) {
    if (is_on_path(obj)) return cycle(obj, ValueKind::kException, t.name);
    PyValue v = make(ValueKind::kException, obj, t.name);
    auto args = pointer(obj, o.misc.exc_args);
    if (!args) return give_up(std::move(v));
    on_path.insert(obj);
    PathGuard guard{*this, obj};
    add_child(v, *args, depth);
    return v;
  }
  std::string str_field(RemoteAddr obj, std::uint64_t offset) {
    auto p = pointer(obj, offset);
    if (!p || !*p) return {};
    return name_text(*p).value_or(std::string());
  }
  PyValue read_function(RemoteAddr obj, const TypeInfo& t) {
    PyValue v = make(ValueKind::kFunction, obj, t.name);
    v.name = str_field(obj, o.misc.func_qualname);
    return v;
  }
  PyValue read_method(RemoteAddr obj, const TypeInfo& t) {
    PyValue v = make(ValueKind::kMethod, obj, t.name);
    if (auto func = pointer(obj, o.misc.im_func); func && *func)
      v.name = str_field(*func, o.misc.func_qualname);
    if (auto self = pointer(obj, o.misc.im_self); self && *self) {
      v.self_address = *self;
      const TypeInfo* st = type_of(*self);
      v.self_type = st ? st->name : "unknown";
    }
    return v;
  }
  PyValue read_module(RemoteAddr obj, const TypeInfo& t) {
    PyValue v = make(ValueKind::kModule, obj, t.name);
    v.name = str_field(obj, o.misc.md_name);
    return v;
  }
  PyValue read_code(RemoteAddr obj, const TypeInfo& t) {
    PyValue v = make(ValueKind::kCode, obj, t.name);
    v.name = str_field(obj, o.code.name);
    return v;
  }
  PyValue read_cell(RemoteAddr obj, const TypeInfo& t) {
    // python-gdb.py prints <cell at remote 0x...>; keep what the cell holds
    // by address and type only.
    PyValue v = make(ValueKind::kCell, obj, t.name);
    if (auto ref = pointer(obj, o.misc.cell_ob_ref); ref && *ref) {
      v.self_address = *ref;
      const TypeInfo* rt = type_of(*ref);
      v.self_type = rt ? rt->name : "unknown";
    }
    return v;
  }
  PyValue read_type(RemoteAddr obj, const TypeInfo& t) {
    PyValue v = make(ValueKind::kType, obj, t.name);
    if (auto name_ptr = pointer(obj, o.type.tp_name); name_ptr && *name_ptr)
      v.name = memory.read_c_string(*name_ptr, limits.max_name_chars).value_or(std::string());
    return v;
  }
  PyValue read_cfunction(RemoteAddr obj, const TypeInfo& t) {
    // PyCFunctionObjectPtr.proxyval: m_ml->ml_name, and m_self decides
    // between "built-in function" and "built-in method".
    PyValue v = make(ValueKind::kBuiltinFunction, obj, t.name);
    auto ml = pointer(obj, o.cfunction.m_ml);
    auto self = pointer(obj, o.cfunction.m_self);
    if (!ml || !*ml || !self) return give_up(std::move(v));
    auto name_ptr = pointer(*ml, o.cfunction.ml_name);
    if (!name_ptr) return give_up(std::move(v));
    auto name = memory.read_c_string(*name_ptr, limits.max_name_chars);
    if (!name) return give_up(std::move(v));
    v.name = std::move(*name);
    if (*self) {
      v.kind = ValueKind::kBuiltinMethod;
      v.self_address = *self;
      const TypeInfo* st = type_of(*self);
      v.self_type = st && st->name_ok ? st->name : "unknown";  // safe_tp_name
    }
    return v;
  }
  PyValue read_method_wrapper(RemoteAddr obj, const TypeInfo& t) {
    // wrapperobject.proxyval: descr->d_base->name (flag: readable), the tp_name
    // of self (empty: unreadable), self's address.
    PyValue v = make(ValueKind::kMethodWrapper, obj, t.name);
    auto self = pointer(obj, o.misc.wrapper_self);
    if (!self) return give_up(std::move(v));
    v.self_address = *self;
    if (*self) {
      if (const TypeInfo* st = type_of(*self); st && st->name_ok) v.self_type = st->name;
    }
    auto descr = pointer(obj, o.misc.wrapper_descr);
    auto base = descr && *descr ? pointer(*descr, o.misc.descr_d_base) : descr;
    auto name_ptr = base && *base ? pointer(*base, o.misc.wrapperbase_name) : base;
    if (name_ptr && *name_ptr) {
      if (auto name = memory.read_c_string(*name_ptr, limits.max_name_chars)) {
        v.name = std::move(*name);
        v.flag = true;
      }
    }
    return v;
  }

  // ---- frames
  // The code object, globals and builtins and the fast-locals array of a
  // frame, from the layout of its version.
  struct FrameParts {
    RemoteAddr code;
    RemoteAddr localsplus;
  };
  Result<FrameParts> frame_parts(RemoteAddr frame) {
    FrameParts p;
    if (o.version.at_least(3, 11)) {
      p.code = PYATTACH_TRY(pointer(frame, o.iframe.code));
      if (o.iframe.localsplus == kAbsent) return fail(ErrorCode::kDebugInfo, "no localsplus");
      p.localsplus = frame + o.iframe.localsplus;
    } else {
      p.code = PYATTACH_TRY(pointer(frame, o.frame_object.f_code));
      if (o.frame_vars.f_localsplus == kAbsent)
        return fail(ErrorCode::kDebugInfo, "no f_localsplus");
      p.localsplus = frame + o.frame_vars.f_localsplus;
    }
    if (!p.code) return fail(ErrorCode::kCorruptData, "frame without code object");
    return p;
  }

  // PyFrame_GetLineNumber, as the frame walk (python_stack.cpp) computes it.
  std::optional<int> frame_line(RemoteAddr frame, RemoteAddr code,
                                const CodeCache::CodeInfo& info) {
    if (o.version.at_least(3, 11)) {
      auto instr = pointer(frame, o.iframe.instr);
      if (!instr || o.code.code_adaptive == kAbsent) return std::nullopt;
      RemoteAddr first = code + o.code.code_adaptive;
      auto addrq = static_cast<std::int64_t>(instr->as_int() - first.as_int());
      if (addrq < 0) return info.firstlineno;
      return addr_to_line(LineTableFormat::kLocationTable, info.linetable, info.firstlineno,
                          static_cast<int>(std::min<std::int64_t>(addrq, 1 << 30)));
    }
    auto lasti = field<std::int32_t>(frame, o.frame_object.f_lasti);
    auto lineno = field<std::int32_t>(frame, o.frame_object.f_lineno);
    auto trace = pointer(frame, o.frame_object.f_trace);
    if (!lasti || !lineno || !trace) return std::nullopt;
    bool v310 = o.version.at_least(3, 10);
    // While tracing, f_lineno is current (3.8/3.9: f_trace set; 3.10:
    // f_lineno non-zero).
    if (v310 ? *lineno != 0 : !trace->is_null()) return *lineno;
    std::int64_t addrq = v310 ? std::int64_t{*lasti} * 2 : *lasti;
    if (addrq < 0) return info.firstlineno;
    return addr_to_line(v310 ? LineTableFormat::kLinetable310 : LineTableFormat::kLnotab,
                        info.linetable, info.firstlineno,
                        static_cast<int>(std::min<std::int64_t>(addrq, 1 << 30)));
  }

  // A tuple's items as addresses (bounded).
  Result<std::vector<RemoteAddr>> tuple_items(RemoteAddr tuple, std::size_t max) {
    auto size = PYATTACH_TRY(field<std::int64_t>(tuple, o.object.ob_size));
    if (size < 0 || o.sequence.tuple_ob_item == kAbsent)
      return fail(ErrorCode::kCorruptData, "not a tuple");
    std::uint64_t n = std::min<std::uint64_t>(static_cast<std::uint64_t>(size), max);
    std::vector<RemoteAddr> out;
    out.reserve(n);
    ChunkedArray array(memory, tuple + o.sequence.tuple_ob_item, kPtrSize, n);
    for (std::uint64_t i = 0; i < n; ++i)
      out.emplace_back(load<std::uint64_t>(PYATTACH_TRY(array.at(i)), 0));
    return out;
  }

  // One variable slot of a frame: its name and the object it holds (a
  // dereferenced cell for kAll).
  struct Slot {
    RemoteAddr name;
    RemoteAddr value;
  };
  // python-gdb.py's iter_locals (kPythonGdb) or frame.f_locals (kAll).
  Result<std::vector<Slot>> frame_slots(RemoteAddr frame, LocalsScope scope) {
    FrameParts p = PYATTACH_TRY(frame_parts(frame));
    const auto& fv = o.frame_vars;
    auto nlocals = PYATTACH_TRY(field<std::int32_t>(p.code, fv.co_nlocals));
    if (nlocals < 0) return fail(ErrorCode::kCorruptData, "negative co_nlocals");
    std::vector<Slot> out;
    auto cell_contents = [&](RemoteAddr cell) -> RemoteAddr {
      if (!cell) return RemoteAddr();
      const TypeInfo* ct = type_of(cell);
      if (ct == nullptr || ct->name != "cell") return cell;
      return pointer(cell, o.misc.cell_ob_ref).value_or(RemoteAddr());
    };
    if (o.version.at_least(3, 11)) {
      // co_localsplusnames covers locals, then cells, then free variables;
      // the first co_nlocals are the plain locals.
      auto names_tuple = PYATTACH_TRY(pointer(p.code, fv.co_localsplusnames));
      std::uint64_t count = static_cast<std::uint64_t>(nlocals);
      std::string kinds;
      if (scope == LocalsScope::kAll) {
        auto total = PYATTACH_TRY(field<std::int32_t>(p.code, fv.co_nlocalsplus));
        count = static_cast<std::uint64_t>(std::max(total, 0));
        auto kinds_obj = PYATTACH_TRY(pointer(p.code, fv.co_localspluskinds));
        auto k = read_bytes_object(memory, kinds_obj, o.bytes, limits.max_locals);
        if (!k) return std::unexpected(k.error());
        kinds = std::move(k->data);
      }
      auto names = PYATTACH_TRY(tuple_items(names_tuple, std::min<std::uint64_t>(count, limits.max_locals)));
      count = std::min<std::uint64_t>(count, names.size());
      ChunkedArray slots(memory, p.localsplus, kPtrSize, count);
      for (std::uint64_t i = 0; i < count; ++i) {
        RemoteAddr value(load<std::uint64_t>(PYATTACH_TRY(slots.at(i)), 0));
        if (scope == LocalsScope::kAll && i < kinds.size()) {
          auto kind = static_cast<std::uint8_t>(kinds[i]);
          // Free variables always hold a cell; a cell variable does once
          // MAKE_CELL ran (before, the slot holds the argument itself).
          if (kind & (kCoFastFree | kCoFastCell)) value = cell_contents(value);
        }
        if (value) out.push_back({names[i], value});
      }
      return out;
    }
    // <=3.10: f_localsplus holds co_varnames' locals, then co_cellvars' and
    // co_freevars' cells.
    auto varnames = PYATTACH_TRY(pointer(p.code, fv.co_varnames));
    auto names = PYATTACH_TRY(tuple_items(varnames, std::min<std::uint64_t>(
                                                        static_cast<std::uint64_t>(nlocals),
                                                        limits.max_locals)));
    std::vector<RemoteAddr> cell_names;
    if (scope == LocalsScope::kAll) {
      for (std::uint64_t offset : {fv.co_cellvars, fv.co_freevars}) {
        auto tuple = PYATTACH_TRY(pointer(p.code, offset));
        auto more = PYATTACH_TRY(tuple_items(tuple, limits.max_locals));
        cell_names.insert(cell_names.end(), more.begin(), more.end());
      }
    }
    std::uint64_t plain = std::min<std::uint64_t>(static_cast<std::uint64_t>(nlocals), names.size());
    std::uint64_t total = std::min<std::uint64_t>(
        static_cast<std::uint64_t>(nlocals) + cell_names.size(), limits.max_locals);
    ChunkedArray slots(memory, p.localsplus, kPtrSize, total);
    for (std::uint64_t i = 0; i < total; ++i) {
      if (i >= plain && i < static_cast<std::uint64_t>(nlocals)) continue;  // no name
      RemoteAddr value(load<std::uint64_t>(PYATTACH_TRY(slots.at(i)), 0));
      RemoteAddr name;
      if (i < plain) {
        name = names[i];
      } else {
        name = cell_names[i - static_cast<std::uint64_t>(nlocals)];
        value = cell_contents(value);
      }
      if (value) out.push_back({name, value});
    }
    return out;
  }

  std::string slot_name(RemoteAddr name) { return name_text(name).value_or("???"); }

  // A frame as PyFramePtr.write_repr prints it (frame = what that prints as
  // "Frame 0x...").
  PyValue read_frame_at(RemoteAddr frame, std::size_t depth) {
    if (is_on_path(frame)) return cycle(frame, ValueKind::kFrame, "frame");
    PyValue v = make(ValueKind::kFrame, frame, "frame");
    auto parts = frame_parts(frame);
    if (!parts) return give_up(std::move(v));
    const auto& info = codes.get(memory, o, parts->code);
    if (!info.readable) return give_up(std::move(v));
    v.text = info.filename;
    v.name = info.name;
    v.line = frame_line(frame, parts->code, info);
    auto slots = frame_slots(frame, LocalsScope::kPythonGdb);
    if (!slots) return give_up(std::move(v));
    on_path.insert(frame);
    PathGuard guard{*this, frame};
    for (const Slot& s : *slots) {
      if (nodes_left == 0) {
        v.children.push_back(elided(RemoteAddr()));
        v.truncated = true;
        break;
      }
      PyValue name = make(ValueKind::kStr, s.name, "str");
      name.text = slot_name(s.name);
      v.children.push_back(std::move(name));
      if (!add_child(v, s.value, depth)) break;
    }
    return v;
  }
  PyValue read_frame_object(RemoteAddr obj, std::size_t depth) {
    if (o.version.at_least(3, 11)) {
      // 3.11+: a frame object wraps its _PyInterpreterFrame (f_frame), and
      // python-gdb.py prints that one's address.
      auto f = pointer(obj, o.frame_vars.f_frame);
      if (!f || !*f) return unreadable(obj, "frame");
      return read_frame_at(*f, depth);
    }
    return read_frame_at(obj, depth);
  }

  Result<RemoteAddr> frame_dict(RemoteAddr frame, bool builtins) {
    if (o.version.at_least(3, 11))
      return pointer(frame, builtins ? o.frame_vars.iframe_builtins : o.frame_vars.iframe_globals);
    return pointer(frame, builtins ? o.frame_vars.f_builtins : o.frame_vars.f_globals);
  }
};

ValueReader::ValueReader(const RemoteMemory& memory, const Offsets& offsets, ReadLimits limits)
    : impl_(std::make_unique<Impl>(memory, offsets, limits)), limits_(limits) {}
ValueReader::~ValueReader() = default;
ValueReader::ValueReader(ValueReader&&) noexcept = default;

PyValue ValueReader::read(RemoteAddr obj) {
  impl_->start(limits_.max_nodes);
  return impl_->value(obj, 0);
}

PyValue ValueReader::read_frame(RemoteAddr frame) {
  impl_->start(limits_.max_nodes);
  return impl_->read_frame_at(frame, 0);
}

Result<std::vector<NamedValue>> ValueReader::read_locals(RemoteAddr frame, LocalsScope scope) {
  auto slots = impl_->frame_slots(frame, scope);
  if (!slots) return std::unexpected(slots.error());
  std::vector<NamedValue> out;
  std::size_t total_left = limits_.max_total_nodes;
  for (const auto& s : *slots) {
    std::size_t budget = std::min(limits_.max_nodes, total_left);
    impl_->start(budget);
    NamedValue nv{impl_->slot_name(s.name), impl_->value(s.value, 0)};
    total_left -= budget - impl_->nodes_left;
    out.push_back(std::move(nv));
  }
  return out;
}

Result<std::optional<VariableLookup>> ValueReader::lookup(RemoteAddr frame,
                                                          std::string_view name) {
  using Scope = VariableLookup::Scope;
  auto slots = impl_->frame_slots(frame, LocalsScope::kPythonGdb);
  if (!slots) return std::unexpected(slots.error());
  for (const auto& s : *slots) {
    if (impl_->name_text(s.name) == name) {
      impl_->start(limits_.max_nodes);
      return VariableLookup{Scope::kLocal, impl_->value(s.value, 0)};
    }
  }
  for (Scope scope : {Scope::kGlobal, Scope::kBuiltin}) {
    auto dict = impl_->frame_dict(frame, scope == Scope::kBuiltin);
    if (!dict || !*dict) continue;
    // python-gdb.py iterates the dict with iteritems, so it must be a dict.
    const TypeInfo* dt = impl_->type_of(*dict);
    if (dt == nullptr || (dt->flags & kTpHeapType) || !(dt->flags & kTpDictSubclass)) continue;
    RemoteAddr found;
    auto r = impl_->for_each_item(*dict, [&](RemoteAddr key, RemoteAddr value) {
      if (impl_->name_text(key) != name) return true;
      found = value;
      return false;
    });
    if (found) {
      impl_->start(limits_.max_nodes);
      return VariableLookup{scope, impl_->value(found, 0)};
    }
    (void)r;  // an unreadable dict is one where the name is not found
  }
  return std::optional<VariableLookup>();
}

PyValue read_value(const RemoteMemory& memory, const Offsets& offsets, RemoteAddr obj,
                   const ReadLimits& limits) {
  return ValueReader(memory, offsets, limits).read(obj);
}

Result<std::vector<NamedValue>> read_frame_locals(const RemoteMemory& memory,
                                                  const Offsets& offsets, RemoteAddr frame,
                                                  LocalsScope scope, const ReadLimits& limits) {
  return ValueReader(memory, offsets, limits).read_locals(frame, scope);
}

}  // namespace pyattach::cpython
