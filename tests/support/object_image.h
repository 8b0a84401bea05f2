// Builds CPython objects in a FakeMemory with a version's real layout (from
// an Offsets value, e.g. recorded_offsets(minor)), for the value-layer tests.
// Instances get the pre-header and dict/values placement of each version:
//   <=3.10 a __dict__ slot at tp_dictoffset; 3.11 values pointer at -4 words
//   and dict at -3; 3.12 one tagged dict-or-values word at -3; 3.13 dict at
//   -3 and inline values after the object.
#pragma once

#include <algorithm>
#include <bit>
#include <cstdint>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cpython/offsets.h"
#include "support/fake_memory.h"

namespace pyattach::testing {

// Py_TPFLAGS_* (Include/object.h).
namespace tpflags {
inline constexpr std::uint64_t kInlineValues = 1ull << 2;
inline constexpr std::uint64_t kManagedDict = 1ull << 4;
inline constexpr std::uint64_t kHeapType = 1ull << 9;
inline constexpr std::uint64_t kLong = 1ull << 24;
inline constexpr std::uint64_t kList = 1ull << 25;
inline constexpr std::uint64_t kTuple = 1ull << 26;
inline constexpr std::uint64_t kBytes = 1ull << 27;
inline constexpr std::uint64_t kUnicode = 1ull << 28;
inline constexpr std::uint64_t kDict = 1ull << 29;
inline constexpr std::uint64_t kBaseExc = 1ull << 30;
inline constexpr std::uint64_t kType = 1ull << 31;
}  // namespace tpflags

class ObjectImage {
 public:
  static constexpr std::uint64_t kHeap = 0x20000000;
  static constexpr std::size_t kHeapSize = 8 << 20;
  // In an item list: the container being built (for cycles).
  static constexpr std::uint64_t kSelf = 1;

  explicit ObjectImage(const cpython::Offsets& offsets) : o_(offsets) {
    memory.add_region(kHeap, kHeapSize);
  }
  FakeMemory memory;
  const cpython::Offsets& offsets() const { return o_; }
  int minor() const { return o_.version.minor; }

  // Zeroed memory for an object of `size` bytes preceded by `preheader`
  // bytes; returns the object's address (16-byte aligned).
  std::uint64_t alloc(std::size_t size, std::size_t preheader = 0) {
    std::uint64_t at = next_ + ((preheader + 15) & ~std::size_t{15});
    next_ = at + ((size + 15) & ~std::size_t{15});
    if (next_ > kHeap + kHeapSize) throw std::length_error("ObjectImage heap full");
    return at;
  }
  void u64(std::uint64_t addr, std::uint64_t v) { memory.write_value(addr, v); }
  void i64(std::uint64_t addr, std::int64_t v) { memory.write_value(addr, v); }
  void i32(std::uint64_t addr, std::int32_t v) { memory.write_value(addr, v); }
  void u8(std::uint64_t addr, std::uint8_t v) { memory.write_value(addr, v); }
  std::uint64_t cstring(std::string_view s) {
    std::uint64_t at = alloc(s.size() + 1);
    memory.write_bytes(at, s);
    return at;
  }

  // ---- types
  struct TypeSpec {
    std::uint64_t flags = 0;
    std::int64_t basicsize = 16, itemsize = 0, dictoffset = 0;
    std::uint64_t cached_keys = 0;  // ht_cached_keys (3.11+ heap types)
  };
  std::uint64_t make_type(std::string_view name, const TypeSpec& spec) {
    const auto& t = o_.type_slots;
    std::uint64_t type = alloc(1024);
    header(type, builtin("type"));
    u64(type + o_.type.tp_name, cstring(name));
    u64(type + t.tp_flags, spec.flags);
    i64(type + t.tp_basicsize, spec.basicsize);
    i64(type + t.tp_itemsize, spec.itemsize);
    i64(type + t.tp_dictoffset, spec.dictoffset);
    if (t.ht_cached_keys != cpython::kAbsent) u64(type + t.ht_cached_keys, spec.cached_keys);
    return type;
  }
  // The static type `name` with its subclass flag, made once.
  std::uint64_t builtin(std::string_view name) {
    auto it = builtins_.find(std::string(name));
    if (it != builtins_.end()) return it->second;
    using namespace tpflags;
    static const std::map<std::string, std::uint64_t, std::less<>> kFlags = {
        {"int", kLong},           {"bool", kLong},        {"list", kList},
        {"tuple", kTuple},        {"bytes", kBytes},      {"str", kUnicode},
        {"dict", kDict},          {"ValueError", kBaseExc}, {"KeyError", kBaseExc},
        {"type", kType},
    };
    std::uint64_t flags = 0;
    if (auto f = kFlags.find(name); f != kFlags.end()) flags = f->second;
    std::uint64_t type;
    if (name == "type") {
      // type's own type is type.
      type = alloc(1024);
      builtins_.emplace("type", type);
      header(type, type);
      u64(type + o_.type.tp_name, cstring("type"));
      u64(type + o_.type_slots.tp_flags, flags);
      return type;
    }
    type = make_type(name, TypeSpec{flags, 16, 0, 0, 0});
    builtins_.emplace(std::string(name), type);
    return type;
  }
  // A class statement's type, `class C: pass`, as this version lays it out.
  std::uint64_t heap_class(std::string_view name, std::uint64_t cached_keys = 0) {
    using namespace tpflags;
    TypeSpec spec;
    spec.cached_keys = cached_keys;
    if (minor() <= 10) {
      spec = {kHeapType, 32, 0, 16, 0};
    } else if (minor() == 11) {
      spec = {kHeapType | kManagedDict, 24, 0, -48, cached_keys};
    } else if (minor() == 12) {
      spec = {kHeapType | kManagedDict, 16, 0, -1, cached_keys};
    } else {
      spec = {kHeapType | kManagedDict | kInlineValues, 16, 0, -1, cached_keys};
    }
    return make_type(name, spec);
  }
  void header(std::uint64_t obj, std::uint64_t type) {
    u64(obj, 1);  // ob_refcnt
    u64(obj + o_.object.ob_type, type);
  }

  // ---- scalars
  std::uint64_t none() { return simple("NoneType", 16); }
  std::uint64_t boolean(bool b) {
    std::uint64_t obj = alloc(32);
    header(obj, builtin("bool"));
    write_int(obj, b ? std::vector<std::uint32_t>{1} : std::vector<std::uint32_t>{}, false);
    return obj;
  }
  std::uint64_t integer(std::int64_t v) {
    bool negative = v < 0;
    std::uint64_t mag = negative ? 0 - static_cast<std::uint64_t>(v) : static_cast<std::uint64_t>(v);
    std::vector<std::uint32_t> digits;
    for (; mag != 0; mag >>= 30) digits.push_back(static_cast<std::uint32_t>(mag & 0x3fffffff));
    return big_int(digits, negative);
  }
  // 30-bit digits, least significant first.
  std::uint64_t big_int(const std::vector<std::uint32_t>& digits, bool negative,
                        std::string_view type = "int") {
    std::uint64_t obj = alloc(32 + 4 * digits.size());
    header(obj, builtin(type));
    write_int(obj, digits, negative);
    return obj;
  }
  std::uint64_t flt(double v) {
    std::uint64_t obj = alloc(24);
    header(obj, builtin("float"));
    memory.write_value(obj + o_.number.ob_fval, v);
    return obj;
  }
  std::uint64_t cplx(double re, double im) {
    std::uint64_t obj = alloc(32);
    header(obj, builtin("complex"));
    memory.write_value(obj + o_.number.cval_real, re);
    memory.write_value(obj + o_.number.cval_imag, im);
    return obj;
  }

  // ---- str and bytes
  // A compact str of the narrowest kind (compact ASCII when all < 128), at
  // `place` when non-zero (which must lie in a FakeMemory region).
  std::uint64_t str(std::u32string_view cps, std::uint64_t place = 0) {
    const auto& u = o_.unicode;
    char32_t max = 0;
    for (char32_t c : cps) max = std::max(max, c);
    int kind = max < 0x100 ? 1 : max < 0x10000 ? 2 : 4;
    bool ascii = max < 0x80;
    std::uint64_t data_off = ascii ? u.ascii_size : u.compact_size;
    std::uint64_t size = data_off + (cps.size() + 1) * static_cast<std::uint64_t>(kind);
    std::uint64_t obj = place ? place : alloc(size);
    header(obj, builtin("str"));
    i64(obj + u.length_offset, static_cast<std::int64_t>(cps.size()));
    std::uint32_t state = static_cast<std::uint32_t>(kind) << u.kind_shift |
                          1u << u.compact_shift | (ascii ? 1u : 0u) << u.ascii_shift;
    if (minor() <= 11) state |= 1u << 7;  // ready
    memory.write_value(obj + u.state_offset, state);
    write_code_units(obj + data_off, cps, kind);
    strs_.insert(obj);
    return obj;
  }
  std::uint64_t str(std::string_view ascii) {
    return str(std::u32string(ascii.begin(), ascii.end()));
  }
  // A non-compact ("legacy") str, as instances of str subclasses are.
  std::uint64_t legacy_str(std::u32string_view cps, int kind, std::uint64_t type) {
    const auto& u = o_.unicode;
    std::uint64_t obj = alloc(u.legacy_data_offset + 8);
    header(obj, type);
    i64(obj + u.length_offset, static_cast<std::int64_t>(cps.size()));
    std::uint32_t state = static_cast<std::uint32_t>(kind) << u.kind_shift;
    if (minor() <= 11) state |= 1u << 7;
    memory.write_value(obj + u.state_offset, state);
    std::uint64_t data = alloc((cps.size() + 1) * static_cast<std::uint64_t>(kind));
    write_code_units(data, cps, kind);
    u64(obj + u.legacy_data_offset, data);
    return obj;
  }
  std::uint64_t bytes(std::string_view s) {
    std::uint64_t obj = alloc(o_.bytes.sval_offset + s.size() + 1);
    header(obj, builtin("bytes"));
    i64(obj + o_.bytes.size_offset, static_cast<std::int64_t>(s.size()));
    memory.write_bytes(obj + o_.bytes.sval_offset, s);
    return obj;
  }
  std::uint64_t bytearray(std::string_view s) {
    std::uint64_t obj = alloc(64);
    header(obj, builtin("bytearray"));
    i64(obj + o_.object.ob_size, static_cast<std::int64_t>(s.size()));
    if (!s.empty()) {
      std::uint64_t data = alloc(s.size() + 1);
      memory.write_bytes(data, s);
      u64(obj + o_.sequence.bytearray_ob_start, data);
    }
    return obj;
  }

  // ---- containers
  std::uint64_t list(const std::vector<std::uint64_t>& items, std::string_view type = "list") {
    std::uint64_t obj = alloc(40);
    header(obj, builtin(type));
    i64(obj + o_.object.ob_size, static_cast<std::int64_t>(items.size()));
    std::uint64_t array = alloc(8 * std::max<std::size_t>(items.size(), 1));
    for (std::size_t i = 0; i < items.size(); ++i) u64(array + 8 * i, self_or(items[i], obj));
    u64(obj + o_.sequence.list_ob_item, array);
    return obj;
  }
  std::uint64_t tuple(const std::vector<std::uint64_t>& items) {
    std::uint64_t obj = alloc(o_.sequence.tuple_ob_item + 8 * items.size());
    header(obj, builtin("tuple"));
    i64(obj + o_.object.ob_size, static_cast<std::int64_t>(items.size()));
    for (std::size_t i = 0; i < items.size(); ++i)
      u64(obj + o_.sequence.tuple_ob_item + 8 * i, self_or(items[i], obj));
    return obj;
  }

  // A keys object. An entry with key 0 or value 0 is a deleted slot (value
  // 0 in a split table just means "not in the values array"). kind: 3.11+
  // dk_kind (0 general, 1 unicode, 2 split); ignored before 3.11.
  using Entries = std::vector<std::pair<std::uint64_t, std::uint64_t>>;
  std::uint64_t keys(const Entries& entries, int kind, std::uint64_t self = 0) {
    const auto& k = o_.dict_keys;
    const auto& e = o_.dict_entry;
    std::uint64_t slots = 8;
    while (slots < entries.size() * 3 / 2 + 1) slots *= 2;
    bool general = minor() <= 10 || kind == 0;
    std::uint64_t esize = general ? e.size : e.unicode_size;
    std::uint64_t ekey = general ? e.me_key : e.unicode_me_key;
    std::uint64_t evalue = general ? e.me_value : e.unicode_me_value;
    std::uint64_t ix = slots <= 0xff ? 1 : 2;
    std::uint64_t obj = alloc(k.dk_indices + slots * ix + esize * entries.size());
    u64(obj, 1);  // dk_refcnt
    if (minor() <= 10) {
      i64(obj + k.dk_size, static_cast<std::int64_t>(slots));
    } else {
      std::uint8_t log2 = static_cast<std::uint8_t>(std::countr_zero(slots));
      u8(obj + k.dk_log2_size, log2);
      u8(obj + k.dk_log2_index_bytes,
         static_cast<std::uint8_t>(log2 + std::countr_zero(ix)));
      u8(obj + k.dk_kind, static_cast<std::uint8_t>(kind));
    }
    i64(obj + k.dk_nentries, static_cast<std::int64_t>(entries.size()));
    std::uint64_t first = obj + k.dk_indices + slots * ix;
    for (std::size_t i = 0; i < entries.size(); ++i) {
      u64(first + esize * i + ekey, self_or(entries[i].first, self));
      u64(first + esize * i + evalue, self_or(entries[i].second, self));
    }
    return obj;
  }
  // A combined-table dict; 3.11+ picks unicode keys when every key is a str.
  std::uint64_t dict(const Entries& entries) {
    std::uint64_t obj = alloc(48);
    header(obj, builtin("dict"));
    int kind = 1;
    for (const auto& [key, value] : entries)
      if (key != 0 && !strs_.count(key)) kind = 0;
    std::size_t used = 0;
    for (const auto& [key, value] : entries) used += key != 0 && value != 0;
    u64(obj + o_.dict.ma_keys, keys(entries, kind, obj));
    i64(obj + o_.dict.ma_used, static_cast<std::int64_t>(used));
    return obj;
  }
  // A PyObject* values array as ma_values / an instance holds it: <=3.10 the
  // bare array; 3.11+ a PyDictValues.
  std::uint64_t values(const std::vector<std::uint64_t>& vals) {
    std::uint64_t base = o_.dict_values.values == cpython::kAbsent ? 0 : o_.dict_values.values;
    std::uint64_t obj = alloc(base + 8 * std::max<std::size_t>(vals.size(), 1), 16);
    for (std::size_t i = 0; i < vals.size(); ++i) u64(obj + base + 8 * i, vals[i]);
    return obj;  // PyDictValues* (3.11+) or PyObject** (<=3.10)
  }
  // A split-table dict over shared keys (entries' values ignored).
  std::uint64_t split_dict(std::uint64_t shared_keys, const std::vector<std::uint64_t>& vals) {
    std::uint64_t obj = alloc(48);
    header(obj, builtin("dict"));
    std::size_t used = 0;
    for (auto v : vals) used += v != 0;
    u64(obj + o_.dict.ma_keys, shared_keys);
    u64(obj + o_.dict.ma_values, values(vals));
    i64(obj + o_.dict.ma_used, static_cast<std::int64_t>(used));
    return obj;
  }
  // A set/frozenset: items spread over a table with empty and dummy slots.
  std::uint64_t set(const std::vector<std::uint64_t>& items, bool frozen = false,
                    int dummies = 0) {
    std::uint64_t obj = alloc(200);
    header(obj, builtin(frozen ? "frozenset" : "set"));
    std::uint64_t slots = 8;
    while (slots < 2 * (items.size() + static_cast<std::size_t>(dummies))) slots *= 2;
    std::uint64_t table = alloc(o_.set.entry_size * slots);
    std::uint64_t dummy = 0;
    if (dummies > 0) {
      dummy = alloc(16);
      header(dummy, builtin("<dummy key> type"));
    }
    std::uint64_t slot = 1;  // leave slot 0 empty
    for (int d = 0; d < dummies; ++d, slot += 1) u64(table + o_.set.entry_size * slot, dummy);
    for (auto item : items) {
      u64(table + o_.set.entry_size * slot + o_.set.entry_key, item);
      slot += 1;
    }
    i64(obj + o_.set.used, static_cast<std::int64_t>(items.size()));
    i64(obj + o_.set.mask, static_cast<std::int64_t>(slots - 1));
    u64(obj + o_.set.table, table);
    return obj;
  }

  // ---- instances
  // An instance of a heap_class whose attributes live in a dict object.
  std::uint64_t instance_with_dict(std::uint64_t cls, std::uint64_t dict_obj) {
    std::uint64_t obj = alloc(48, 32);
    header(obj, cls);
    if (minor() <= 10)
      u64(obj + 16, dict_obj);  // tp_dictoffset 16
    else
      u64(obj - 24, dict_obj);  // 3.11 managed dict; 3.12 untagged dict-or-values; 3.13 dict
    return obj;
  }
  // An instance (3.11+) whose attributes are a values array over its class's
  // ht_cached_keys.
  std::uint64_t instance_with_values(std::uint64_t cls, const std::vector<std::uint64_t>& vals,
                                     bool valid = true) {
    if (minor() == 13) {
      std::uint64_t base = o_.dict_values.values;
      std::uint64_t obj = alloc(16 + base + 8 * vals.size(), 32);
      header(obj, cls);
      std::uint64_t inline_values = obj + 16;  // tp_basicsize of heap_class
      u8(inline_values + 0, static_cast<std::uint8_t>(vals.size()));  // capacity
      u8(inline_values + 1, static_cast<std::uint8_t>(vals.size()));  // size
      u8(inline_values + 2, 1);                                        // embedded
      u8(inline_values + o_.dict_values.valid, valid ? 1 : 0);
      for (std::size_t i = 0; i < vals.size(); ++i) u64(inline_values + base + 8 * i, vals[i]);
      return obj;
    }
    std::uint64_t obj = alloc(48, 32);
    header(obj, cls);
    std::uint64_t v = values(vals);
    if (minor() == 11)
      u64(obj - 32, v);
    else
      u64(obj - 24, v - 1);  // 3.12: values tagged by the low bit
    return obj;
  }
  std::uint64_t bare_instance(std::uint64_t cls) {
    std::uint64_t obj = alloc(48, 32);
    header(obj, cls);
    return obj;
  }

  // ---- callables and the rest
  std::uint64_t exception(std::string_view type, std::uint64_t args) {
    std::uint64_t obj = alloc(96);
    header(obj, builtin(type));
    u64(obj + o_.misc.exc_args, args);
    return obj;
  }
  std::uint64_t function(std::string_view qualname) {
    std::uint64_t obj = simple("function", 160);
    u64(obj + o_.misc.func_qualname, str(qualname));
    u64(obj + o_.misc.func_name, str(qualname));
    return obj;
  }
  std::uint64_t module(std::string_view name) {
    std::uint64_t obj = simple("module", 64);
    u64(obj + o_.misc.md_name, str(name));
    return obj;
  }
  std::uint64_t method(std::uint64_t func, std::uint64_t self) {
    std::uint64_t obj = simple("method", 48);
    u64(obj + o_.misc.im_func, func);
    u64(obj + o_.misc.im_self, self);
    return obj;
  }
  std::uint64_t cell(std::uint64_t contents) {
    std::uint64_t obj = simple("cell", 24);
    u64(obj + o_.misc.cell_ob_ref, contents);
    return obj;
  }
  std::uint64_t cfunction(std::string_view name, std::uint64_t self) {
    std::uint64_t obj = simple("builtin_function_or_method", 64);
    std::uint64_t def = alloc(32);
    u64(def + o_.cfunction.ml_name, cstring(name));
    u64(obj + o_.cfunction.m_ml, def);
    u64(obj + o_.cfunction.m_self, self);
    return obj;
  }
  std::uint64_t method_wrapper(std::string_view name, std::uint64_t self) {
    std::uint64_t obj = simple("method-wrapper", 32);
    std::uint64_t base = alloc(64);
    u64(base + o_.misc.wrapperbase_name, cstring(name));
    std::uint64_t descr = alloc(64);
    u64(descr + o_.misc.descr_d_base, base);
    u64(obj + o_.misc.wrapper_descr, descr);
    u64(obj + o_.misc.wrapper_self, self);
    return obj;
  }
  std::uint64_t simple(std::string_view type, std::size_t size) {
    std::uint64_t obj = alloc(size);
    header(obj, builtin(type));
    return obj;
  }

  // ---- frames
  struct CodeSpec {
    std::string filename = "/app/mod.py", name = "f";
    int firstlineno = 10;
    std::vector<std::string> locals;  // co_varnames / the plain locals
    std::vector<std::string> cells;   // cell variables that are not locals
    std::vector<std::string> frees;
    std::vector<std::uint8_t> kinds;  // 3.11+ co_localspluskinds; default: computed
  };
  // A code object whose line table maps every instruction to firstlineno + 2.
  std::uint64_t code(const CodeSpec& spec) {
    const auto& c = o_.code;
    const auto& fv = o_.frame_vars;
    std::uint64_t obj = alloc(512);
    header(obj, builtin("code"));
    u64(obj + c.filename, str(spec.filename));
    u64(obj + c.name, str(spec.name));
    if (c.qualname != cpython::kAbsent) u64(obj + c.qualname, str(spec.name));
    i32(obj + c.firstlineno, spec.firstlineno);
    std::string_view table = minor() >= 11   ? std::string_view("\xef\x04", 2)
                             : minor() == 10 ? std::string_view("\x10\x02", 2)
                                             : std::string_view("\x00\x02", 2);
    u64(obj + c.linetable, bytes(table));
    i32(obj + fv.co_nlocals, static_cast<std::int32_t>(spec.locals.size()));
    auto names = [&](const std::vector<std::string>& v) {
      std::vector<std::uint64_t> items;
      for (const auto& n : v) items.push_back(str(n));
      return tuple(items);
    };
    if (minor() <= 10) {
      u64(obj + fv.co_varnames, names(spec.locals));
      u64(obj + fv.co_cellvars, names(spec.cells));
      u64(obj + fv.co_freevars, names(spec.frees));
    } else {
      std::vector<std::string> all = spec.locals;
      all.insert(all.end(), spec.cells.begin(), spec.cells.end());
      all.insert(all.end(), spec.frees.begin(), spec.frees.end());
      u64(obj + fv.co_localsplusnames, names(all));
      std::string kinds(spec.kinds.begin(), spec.kinds.end());
      if (kinds.empty()) {
        kinds.append(spec.locals.size(), '\x20');  // CO_FAST_LOCAL
        kinds.append(spec.cells.size(), '\x40');   // CO_FAST_CELL
        kinds.append(spec.frees.size(), '\x80');   // CO_FAST_FREE
      }
      u64(obj + fv.co_localspluskinds, bytes(kinds));
      i32(obj + fv.co_nlocalsplus, static_cast<std::int32_t>(all.size()));
    }
    return obj;
  }
  // A frame running `code_obj` at its first instruction (line firstlineno
  // + 2) with these slot values (locals, then cells, then frees); returns
  // what PyFrameSnapshot::address holds: the PyFrameObject (<=3.10) or the
  // _PyInterpreterFrame (3.11+).
  std::uint64_t frame(std::uint64_t code_obj, const std::vector<std::uint64_t>& slots,
                      std::uint64_t globals = 0, std::uint64_t builtins_dict = 0) {
    if (minor() <= 10) {
      const auto& f = o_.frame_object;
      std::uint64_t obj = alloc(o_.frame_vars.f_localsplus + 8 * slots.size() + 8);
      header(obj, builtin("frame"));
      u64(obj + f.f_code, code_obj);
      i32(obj + f.f_lasti, 0);
      u64(obj + o_.frame_vars.f_globals, globals);
      u64(obj + o_.frame_vars.f_builtins, builtins_dict);
      for (std::size_t i = 0; i < slots.size(); ++i)
        u64(obj + o_.frame_vars.f_localsplus + 8 * i, slots[i]);
      return obj;
    }
    std::uint64_t f = alloc(o_.iframe.localsplus + 8 * slots.size() + 8);
    u64(f + o_.iframe.code, code_obj);
    // 3.11/3.12 prev_instr, 3.13 instr_ptr: the first code unit.
    u64(f + o_.iframe.instr, code_obj + o_.code.code_adaptive);
    u64(f + o_.frame_vars.iframe_globals, globals);
    u64(f + o_.frame_vars.iframe_builtins, builtins_dict);
    for (std::size_t i = 0; i < slots.size(); ++i) u64(f + o_.iframe.localsplus + 8 * i, slots[i]);
    return f;
  }
  // The frame *object* of a frame from frame(): itself before 3.11, else a
  // PyFrameObject whose f_frame points at it.
  std::uint64_t frame_object(std::uint64_t frame_addr) {
    if (minor() <= 10) return frame_addr;
    std::uint64_t obj = simple("frame", 64);
    u64(obj + o_.frame_vars.f_frame, frame_addr);
    return obj;
  }

 private:
  static std::uint64_t self_or(std::uint64_t item, std::uint64_t self) {
    return item == kSelf ? self : item;
  }
  void write_int(std::uint64_t obj, const std::vector<std::uint32_t>& digits, bool negative) {
    const auto& l = o_.long_object;
    if (l.lv_tag != cpython::kAbsent) {
      std::uint64_t sign = digits.empty() ? 1 : negative ? 2 : 0;
      u64(obj + l.lv_tag, digits.size() << 3 | sign);
    } else {
      auto n = static_cast<std::int64_t>(digits.size());
      i64(obj + o_.object.ob_size, negative ? -n : n);
    }
    for (std::size_t i = 0; i < digits.size(); ++i)
      memory.write_value(obj + l.ob_digit + 4 * i, digits[i]);
  }
  void write_code_units(std::uint64_t at, std::u32string_view cps, int kind) {
    for (std::size_t i = 0; i < cps.size(); ++i) {
      if (kind == 1) memory.write_value(at + i, static_cast<std::uint8_t>(cps[i]));
      if (kind == 2) memory.write_value(at + 2 * i, static_cast<std::uint16_t>(cps[i]));
      if (kind == 4) memory.write_value(at + 4 * i, static_cast<std::uint32_t>(cps[i]));
    }
  }

  cpython::Offsets o_;
  std::uint64_t next_ = kHeap + 64;
  std::map<std::string, std::uint64_t, std::less<>> builtins_;
  std::set<std::uint64_t> strs_;
};

}  // namespace pyattach::testing
