// The value reader on fake images with the real layouts of CPython 3.8-3.13
// (recorded_layouts.h): every kind of object, per-version dict and instance
// layouts, cycles, budgets, garbage pointers, pages, frames and lookups.
#include <doctest/doctest.h>

#include <fmt/format.h>

#include <fstream>
#include <map>
#include <string>

#include "cpython/values.h"
#include "render/value_repr.h"
#include "support/object_image.h"
#include "support/recorded_layouts.h"

using namespace pyattach;
using namespace pyattach::cpython;
using pyattach::testing::ObjectImage;
using pyattach::testing::recorded_offsets;

namespace {

constexpr int kMinors[] = {8, 9, 10, 11, 12, 13};

struct Image {
  explicit Image(int minor) : offsets(recorded_offsets(minor)), img(offsets) {}
  Offsets offsets;
  ObjectImage img;

  PyValue read(std::uint64_t obj, ReadLimits limits = {}) {
    return read_value(img.memory, offsets, RemoteAddr(obj), limits);
  }
  std::string repr(std::uint64_t obj, ReadLimits limits = {}) {
    render::ReprOptions options;
    options.python_minor = offsets.version.minor;
    return render::value_repr(read(obj, limits), options);
  }
};

std::string hex(std::uint64_t a) { return fmt::format("{:#x}", a); }

}  // namespace

TEST_CASE("recorded layouts give every value field its version's offset") {
  for (int minor : kMinors) {
    CAPTURE(minor);
    Offsets o = recorded_offsets(minor);
    CHECK(o.type_slots.tp_flags == 168);
    CHECK(o.dict.ma_keys == 32);
    CHECK(o.set.entry_size == 16);
    CHECK(o.long_object.ob_digit == 24);
    CHECK((o.long_object.lv_tag != kAbsent) == (minor >= 12));
    CHECK((o.dict_keys.dk_size != kAbsent) == (minor <= 10));
    CHECK((o.dict_keys.dk_kind != kAbsent) == (minor >= 11));
    CHECK((o.dict_values.values != kAbsent) == (minor >= 11));
    CHECK((o.dict_values.valid != kAbsent) == (minor >= 13));
    CHECK((o.frame_vars.f_localsplus != kAbsent) == (minor <= 10));
    CHECK((o.frame_vars.co_localsplusnames != kAbsent) == (minor >= 11));
    CHECK(o.misc.wrapperbase_name == 0);
  }
  CHECK(recorded_offsets(13).dict_values.values == 8);  // after capacity..valid
  CHECK(recorded_offsets(10).misc.func_qualname == 40);
  CHECK(recorded_offsets(9).misc.func_qualname == 104);
}

TEST_CASE("None, bools and ints of any size and sign") {
  for (int minor : kMinors) {
    CAPTURE(minor);
    Image t(minor);
    auto& img = t.img;
    CHECK(t.repr(img.none()) == "None");
    CHECK(t.repr(img.boolean(true)) == "True");
    CHECK(t.repr(img.boolean(false)) == "False");
    CHECK(t.repr(img.integer(0)) == "0");
    CHECK(t.repr(img.integer(1)) == "1");
    CHECK(t.repr(img.integer(-1)) == "-1");
    CHECK(t.repr(img.integer(1 << 30)) == "1073741824");
    CHECK(t.repr(img.integer(-(std::int64_t{1} << 62))) == "-4611686018427387904");
    CHECK(t.repr(img.big_int({0, 0, 16}, false)) == "18446744073709551616");  // 2**64
    CHECK(t.repr(img.big_int({0, 0, 0, 1024}, true)) ==
          "-1267650600228229401496703205376");  // -2**100
    std::vector<std::uint32_t> ones(40, 0x3fffffff);  // 2**1200 - 1
    PyValue big = t.read(img.big_int(ones, false));
    CHECK(big.kind == ValueKind::kInt);
    CHECK(big.text.size() == 362);
    CHECK(big.text.substr(0, 20) == "17218479456385750618");
    CHECK(big.text.substr(354) == "36261375");
    // Over max_int_digits: not converted, shown as an object.
    ReadLimits small;
    small.max_int_digits = 2;
    std::uint64_t three = img.big_int({1, 2, 3}, false);
    PyValue v = t.read(three, small);
    CHECK(v.truncated);
    CHECK(t.repr(three, small) == "<int at remote " + hex(three) + ">");
  }
}

TEST_CASE("floats and complex print as Python's repr") {
  for (int minor : kMinors) {
    CAPTURE(minor);
    Image t(minor);
    CHECK(t.repr(t.img.flt(2.5)) == "2.5");
    CHECK(t.repr(t.img.flt(0.1)) == "0.1");
    CHECK(t.repr(t.img.flt(-1e100)) == "-1e+100");
    CHECK(t.repr(t.img.cplx(1, 2)) == "(1+2j)");
    CHECK(t.repr(t.img.cplx(0, -2.5)) == "-2.5j");
  }
}

TEST_CASE("str of every kind, escapes, subclass storage, page crossing") {
  for (int minor : kMinors) {
    CAPTURE(minor);
    Image t(minor);
    auto& img = t.img;
    CHECK(t.repr(img.str("hello")) == "'hello'");
    CHECK(t.repr(img.str("")) == "''");
    CHECK(t.repr(img.str("it's")) == "\"it's\"");
    CHECK(t.repr(img.str(U"caf\u00e9 \u0085")) == "'caf\u00e9 \\x85'");   // kind 1
    CHECK(t.repr(img.str(U"\u20ac\u2028")) == "'\u20ac\\u2028'");          // kind 2
    CHECK(t.repr(img.str(U"\U0001f600\U000e0001")) == "'\U0001f600\\U000e0001'");  // kind 4
    // A lone surrogate is one code point, not the text "\ud800".
    PyValue s = t.read(img.str(U"a\xd800"));
    REQUIRE(s.kind == ValueKind::kStr);
    CHECK(s.text == "a\xed\xa0\x80");
    CHECK(s.length == 2);
    CHECK(t.repr(img.str(U"a\xd800")) == "'a\\ud800'");
    CHECK(t.repr(img.str(U"\\ud800")) == "'\\\\ud800'");
    // Non-compact storage (str subclasses) reads through the data pointer.
    CHECK(t.repr(img.legacy_str(U"\u20acx", 2, img.builtin("str"))) == "'\u20acx'");
    // A code point past U+10FFFF only corrupt memory holds.
    std::uint64_t bad = img.str(U"\U0010ffff");
    img.memory.write_value(bad + t.offsets.unicode.compact_size, std::uint32_t{0x110000});
    CHECK(t.repr(bad) == "<str at remote " + hex(bad) + ">");
  }
  for (int minor : kMinors) {
    CAPTURE(minor);
    Image t(minor);
    // Two adjacent regions: a read must go page by page to see the str whole.
    constexpr std::uint64_t kPage = 0x50000000;
    t.img.memory.add_region(kPage, 4096);
    t.img.memory.add_region(kPage + 4096, 4096);
    std::uint64_t obj = kPage + 4096 - 40;  // header and data span both
    std::u32string text(300, U'\u0101');
    t.img.str(text, obj);
    PyValue v = t.read(obj);
    REQUIRE(v.kind == ValueKind::kStr);
    CHECK(v.length == 300);
    CHECK(!v.truncated);
    // A str whose data runs off the end of its mapping: unreadable, and
    // shown with its type.
    Image u(minor);
    u.img.memory.add_region(kPage, 4096);
    std::uint64_t cut = kPage + 4096 - u.offsets.unicode.ascii_size;  // header fits, data not
    u.img.header(cut, u.img.builtin("str"));
    u.img.i64(cut + u.offsets.unicode.length_offset, 10);
    std::uint32_t state = 1u << 2 | 1u << 5 | 1u << 6 | (minor <= 11 ? 1u << 7 : 0u);
    u.img.memory.write_value(cut + u.offsets.unicode.state_offset, state);
    CHECK(u.repr(cut) == "<str at remote " + hex(cut) + ">");
  }
}

TEST_CASE("str and bytes are cut at the read limit, marked truncated") {
  Image t(12);
  std::uint64_t s = t.img.str(std::string(3000, 'x'));
  PyValue v = t.read(s);
  CHECK(v.truncated);
  CHECK(v.length == 3000);
  CHECK(v.text.size() == 1024);
  std::string r = t.repr(s);
  CHECK(r == "'" + std::string(1023, 'x') + "...(truncated)");
  std::uint64_t b = t.img.bytes(std::string(2000, 'y'));
  PyValue bv = t.read(b);
  CHECK(bv.truncated);
  CHECK(bv.text.size() == 1024);
}

TEST_CASE("bytes and bytearray") {
  for (int minor : kMinors) {
    CAPTURE(minor);
    Image t(minor);
    CHECK(t.repr(t.img.bytes(std::string("ab\0\xff'\"\\\n", 8))) ==
          "b'ab\\x00\\xff\\'\"\\\\\\n'");
    CHECK(t.repr(t.img.bytes("it's")) == "b\"it's\"");
    CHECK(t.repr(t.img.bytes("")) == "b''");
    CHECK(t.repr(t.img.bytearray("xy'z")) == "bytearray(b\"xy\\'z\")");
    CHECK(t.repr(t.img.bytearray("")) == "bytearray(b'')");
  }
}

TEST_CASE("lists and tuples, nested, with a cycle and shared items") {
  for (int minor : kMinors) {
    CAPTURE(minor);
    Image t(minor);
    auto& img = t.img;
    CHECK(t.repr(img.list({})) == "[]");
    CHECK(t.repr(img.tuple({})) == "()");
    CHECK(t.repr(img.tuple({img.integer(1)})) == "(1,)");
    CHECK(t.repr(img.tuple({img.integer(1), img.str("a")})) == "(1, 'a')");
    auto inner = img.list({img.integer(3)});
    CHECK(t.repr(img.list({img.integer(1), img.list({img.integer(2), inner})})) ==
          "[1, [2, [3]]]");
    // l = [1]; l.append(l)
    std::uint64_t cyc = img.list({img.integer(1), ObjectImage::kSelf});
    PyValue v = t.read(cyc);
    REQUIRE(v.children.size() == 2);
    CHECK(v.children[1].kind == ValueKind::kCycle);
    CHECK(v.children[1].of == ValueKind::kList);
    CHECK(t.repr(cyc) == "[1, [...]]");
    CHECK(t.repr(img.tuple({img.integer(1), ObjectImage::kSelf})) == "(1, (...))");
    // [x, x] is not a cycle (python-gdb.py prints [[1], [...]]).
    auto x = img.list({img.integer(1)});
    CHECK(t.repr(img.list({x, x})) == "[[1], [1]]");
  }
}

TEST_CASE("dicts: combined tables of each version, deleted entries, a cycle") {
  for (int minor : kMinors) {
    CAPTURE(minor);
    Image t(minor);
    auto& img = t.img;
    CHECK(t.repr(img.dict({})) == "{}");
    // str keys: unicode entries (PyDictUnicodeEntry) on 3.11+.
    std::uint64_t d = img.dict({{img.str("a"), img.integer(1)}, {img.str("b"), img.none()}});
    CHECK(t.repr(d) == "{'a': 1, 'b': None}");
    // Other keys: general entries.
    std::uint64_t g = img.dict({{img.integer(2), img.list({img.integer(3)})},
                                {img.tuple({img.integer(1)}), img.str("x")}});
    CHECK(t.repr(g) == "{2: [3], (1,): 'x'}");
    // A deleted entry keeps its slot with a NULL value.
    std::uint64_t del = img.dict({{img.str("a"), 0}, {img.str("b"), img.integer(2)}});
    CHECK(t.repr(del) == "{'b': 2}");
    PyValue dv = t.read(del);
    CHECK(dv.length == 1);
    CHECK(dv.children.size() == 2);
    // d = {'k': 1}; d['self'] = d
    std::uint64_t cyc =
        img.dict({{img.str("k"), img.integer(1)}, {img.str("self"), ObjectImage::kSelf}});
    CHECK(t.repr(cyc) == "{'k': 1, 'self': {...}}");
  }
}

TEST_CASE("dicts: split tables over shared keys") {
  for (int minor : kMinors) {
    CAPTURE(minor);
    Image t(minor);
    auto& img = t.img;
    std::uint64_t keys =
        img.keys({{img.str("x"), 0}, {img.str("y"), 0}, {img.str("z"), 0}}, /*split*/ 2);
    std::uint64_t d = img.split_dict(keys, {img.integer(1), 0, img.str("v")});
    CHECK(t.repr(d) == "{'x': 1, 'z': 'v'}");
  }
}

TEST_CASE("sets and frozensets skip empty and dummy slots") {
  for (int minor : kMinors) {
    CAPTURE(minor);
    Image t(minor);
    auto& img = t.img;
    CHECK(t.repr(img.set({})) == "set()");
    CHECK(t.repr(img.set({}, true)) == "frozenset()");
    CHECK(t.repr(img.set({img.integer(1), img.integer(2)}, false, 2)) == "{1, 2}");
    CHECK(t.repr(img.set({img.str("a")}, true, 1)) == "frozenset({'a'})");
  }
}

TEST_CASE("instances: __dict__ objects in every version") {
  for (int minor : kMinors) {
    CAPTURE(minor);
    Image t(minor);
    auto& img = t.img;
    std::uint64_t cls = img.heap_class("Yuck");
    std::uint64_t obj = img.instance_with_dict(cls, img.dict({{img.str("i"), img.integer(0)}}));
    CHECK(t.repr(obj) == "<Yuck(i=0) at remote " + hex(obj) + ">");
    PyValue v = t.read(obj);
    CHECK(v.kind == ValueKind::kInstance);
    CHECK(v.flag);
    // No dict at all: no parentheses.
    std::uint64_t bare = img.bare_instance(cls);
    CHECK(t.repr(bare) == (minor == 13 ? "<Yuck() at remote " : "<Yuck at remote ") + hex(bare) +
                              ">");
    // self.me = self
    std::uint64_t me = img.alloc(48, 32);
    img.header(me, cls);
    std::uint64_t dict = img.dict({{img.str("me"), me}});
    if (minor <= 10)
      img.u64(me + 16, dict);
    else
      img.u64(me - 24, dict);
    CHECK(t.repr(me) == "<Yuck(me=<...>) at remote " + hex(me) + ">");
    // A key that is not a str prints as its repr (python-gdb.py raises).
    std::uint64_t odd =
        img.instance_with_dict(cls, img.dict({{img.integer(1), img.integer(2)}}));
    CHECK(t.repr(odd) == "<Yuck(1=2) at remote " + hex(odd) + ">");
    // An unreadable dict pointer: the object, bare.
    std::uint64_t lost = img.instance_with_dict(cls, 0xdead0000);
    CHECK(t.repr(lost) == "<Yuck at remote " + hex(lost) + ">");
  }
}

TEST_CASE("instances: managed values (3.11 pointer, 3.12 tagged, 3.13 inline)") {
  for (int minor : {11, 12, 13}) {
    CAPTURE(minor);
    Image t(minor);
    auto& img = t.img;
    std::uint64_t keys = img.keys({{img.str("a"), 0}, {img.str("b"), 0}}, 2);
    std::uint64_t cls = img.heap_class("Point", keys);
    std::uint64_t p = img.instance_with_values(cls, {img.integer(1), img.flt(2.5)});
    CHECK(t.repr(p) == "<Point(a=1, b=2.5) at remote " + hex(p) + ">");
    std::uint64_t partial = img.instance_with_values(cls, {0, img.str("x")});
    CHECK(t.repr(partial) == "<Point(b='x') at remote " + hex(partial) + ">");
    // With a materialised dict, the dict wins (3.11 reads it when the values
    // pointer is NULL).
    std::uint64_t d = img.instance_with_dict(cls, img.dict({{img.str("c"), img.integer(3)}}));
    CHECK(t.repr(d) == "<Point(c=3) at remote " + hex(d) + ">");
  }
  // 3.13: values no longer valid are not attributes.
  Image t(13);
  std::uint64_t keys = t.img.keys({{t.img.str("a"), 0}}, 2);
  std::uint64_t cls = t.img.heap_class("P", keys);
  std::uint64_t stale = t.img.instance_with_values(cls, {t.img.integer(1)}, /*valid=*/false);
  CHECK(t.repr(stale) == "<P() at remote " + hex(stale) + ">");
}

namespace {
// A 3.11+ values array laid out as CPython allocates it, with its
// insertion-order bytes: 3.11/3.12 new_values() puts a prefix before the
// array ([-1] prefix size, [-2] count, [-3 - i] index i); 3.13 keeps
// capacity/size/embedded/valid before it and the order after values[capacity].
// Returns the PyDictValues*.
std::uint64_t ordered_values(ObjectImage& img, const std::vector<std::uint64_t>& vals,
                             const std::vector<std::uint8_t>& order) {
  if (img.minor() >= 13) {
    std::uint64_t base = img.offsets().dict_values.values;
    std::uint64_t v = img.alloc(base + 8 * vals.size() + 32);
    img.u8(v + 0, static_cast<std::uint8_t>(vals.size()));  // capacity
    img.u8(v + 1, static_cast<std::uint8_t>(order.size()));  // size
    img.u8(v + img.offsets().dict_values.valid, 1);
    for (std::size_t i = 0; i < vals.size(); ++i) img.u64(v + base + 8 * i, vals[i]);
    for (std::size_t i = 0; i < order.size(); ++i)
      img.u8(v + base + 8 * vals.size() + i, order[i]);
    return v;
  }
  std::uint64_t prefix = (vals.size() + 2 + 7) & ~std::uint64_t{7};
  std::uint64_t v = img.alloc(8 * vals.size() + 8, prefix);
  img.u8(v - 1, static_cast<std::uint8_t>(prefix));
  img.u8(v - 2, static_cast<std::uint8_t>(order.size()));
  for (std::size_t i = 0; i < order.size(); ++i) img.u8(v - 3 - i, order[i]);
  for (std::size_t i = 0; i < vals.size(); ++i) img.u64(v + 8 * i, vals[i]);
  return v;
}
}  // namespace

TEST_CASE("values arrays print in insertion order (3.11 prefix, 3.12 prefix, 3.13 order)") {
  for (int minor : {11, 12, 13}) {
    CAPTURE(minor);
    Image t(minor);
    auto& img = t.img;
    std::uint64_t keys =
        img.keys({{img.str("x"), 0}, {img.str("y"), 0}, {img.str("z"), 0}}, /*split*/ 2);
    std::uint64_t cls = img.heap_class("Point", keys);
    std::vector<std::uint64_t> full = {img.integer(1), img.integer(2), img.integer(3)};
    // A 3.11/3.12 instance whose managed values pointer is v (3.13 inline
    // values are checked below; 0 here).
    auto instance = [&](std::uint64_t v) {
      std::uint64_t obj = img.alloc(48, 32);
      img.header(obj, cls);
      if (minor == 11)
        img.u64(obj - 32, v);
      else if (minor == 12)
        img.u64(obj - 24, v - 1);
      else
        return 0ull;
      return static_cast<unsigned long long>(obj);
    };
    auto dict = [&](std::uint64_t v, std::int64_t used) {
      std::uint64_t d = img.alloc(48);
      img.header(d, img.builtin("dict"));
      img.u64(d + img.offsets().dict.ma_keys, keys);
      img.u64(d + img.offsets().dict.ma_values, v);
      img.i64(d + img.offsets().dict.ma_used, used);
      return d;
    };
    // Set z, then x, then y.
    std::uint64_t v = ordered_values(img, full, {2, 0, 1});
    CHECK(t.repr(dict(v, 3)) == "{'z': 3, 'x': 1, 'y': 2}");
    if (std::uint64_t p = instance(v))
      CHECK(t.repr(p) == "<Point(z=3, x=1, y=2) at remote " + hex(p) + ">");
    // y deleted (3.11+ delete_index_from_values drops it from the order).
    std::uint64_t holed = ordered_values(img, {full[0], 0, full[2]}, {2, 0});
    CHECK(t.repr(dict(holed, 2)) == "{'z': 3, 'x': 1}");
    if (std::uint64_t p = instance(holed))
      CHECK(t.repr(p) == "<Point(z=3, x=1) at remote " + hex(p) + ">");
    // An inconsistent order (repeats, misses, names a NULL or a missing
    // entry): key order.
    for (const std::vector<std::uint8_t>& bad :
         std::vector<std::vector<std::uint8_t>>{{2, 2, 0}, {2, 0}, {2, 0, 1, 1}, {7, 0, 1}}) {
      std::uint64_t w = ordered_values(img, full, bad);
      CHECK(t.repr(dict(w, 3)) == "{'x': 1, 'y': 2, 'z': 3}");
    }
    std::uint64_t w = ordered_values(img, {full[0], 0, full[2]}, {2, 1});
    CHECK(t.repr(dict(w, 2)) == "{'x': 1, 'z': 3}");
  }
  // 3.13 inline values after the object, with their order.
  Image t(13);
  auto& img = t.img;
  std::uint64_t keys = img.keys({{img.str("x"), 0}, {img.str("y"), 0}}, 2);
  std::uint64_t cls = img.heap_class("Point", keys);
  std::uint64_t base = img.offsets().dict_values.values;
  std::uint64_t obj = img.alloc(16 + base + 16 + 8, 32);
  img.header(obj, cls);
  std::uint64_t inl = obj + 16;  // tp_basicsize of heap_class
  img.u8(inl + 0, 2);            // capacity
  img.u8(inl + 1, 2);            // size
  img.u8(inl + 2, 1);            // embedded
  img.u8(inl + img.offsets().dict_values.valid, 1);
  img.u64(inl + base, img.integer(4));
  img.u64(inl + base + 8, img.integer(3));
  img.u8(inl + base + 16, 1);
  img.u8(inl + base + 17, 0);
  CHECK(t.repr(obj) == "<Point(y=3, x=4) at remote " + hex(obj) + ">");
}

TEST_CASE("instances of variable-size heap types find __dict__ from the end (<=3.11)") {
  for (int minor : {8, 9, 10, 11}) {
    CAPTURE(minor);
    Image t(minor);
    auto& img = t.img;
    // class MyInt(int): tp_basicsize 32, tp_itemsize 4, tp_dictoffset -8.
    std::uint64_t cls = img.make_type(
        "MyInt", {testing::tpflags::kHeapType | testing::tpflags::kLong, 32, 4, -8, 0});
    std::uint64_t obj = img.big_int({7}, false);
    img.header(obj, cls);
    // _PyObject_VAR_SIZE(tp, 1) = 36 -> 40, - 8: the dict is at +32.
    img.u64(obj + 32, img.dict({{img.str("tag"), img.str("t")}}));
    CHECK(t.repr(obj) == "<MyInt(tag='t') at remote " + hex(obj) + ">");
  }
}

TEST_CASE("exceptions print as Python does") {
  for (int minor : kMinors) {
    CAPTURE(minor);
    Image t(minor);
    auto& img = t.img;
    CHECK(t.repr(img.exception("ValueError", img.tuple({img.str("msg")}))) ==
          "ValueError('msg')");
    CHECK(t.repr(img.exception("ValueError", img.tuple({}))) == "ValueError()");
    CHECK(t.repr(img.exception("KeyError", img.tuple({img.integer(1), img.integer(2)}))) ==
          "KeyError(1, 2)");
  }
}

TEST_CASE("callables, classes, modules, code and cells") {
  for (int minor : kMinors) {
    CAPTURE(minor);
    Image t(minor);
    auto& img = t.img;
    std::uint64_t fn = img.function("Yuck.__init__");
    PyValue fv = t.read(fn);
    CHECK(fv.kind == ValueKind::kFunction);
    CHECK(fv.name == "Yuck.__init__");
    CHECK(t.repr(fn) == "<function at remote " + hex(fn) + ">");
    std::uint64_t mod = img.module("os");
    CHECK(t.read(mod).name == "os");
    CHECK(t.repr(mod) == "<module at remote " + hex(mod) + ">");
    std::uint64_t cls = img.heap_class("Yuck");
    PyValue cv = t.read(cls);
    CHECK(cv.kind == ValueKind::kType);
    CHECK(cv.name == "Yuck");
    CHECK(t.repr(cls) == "<type at remote " + hex(cls) + ">");
    std::uint64_t self = img.bare_instance(cls);
    std::uint64_t m = img.method(fn, self);
    PyValue mv = t.read(m);
    CHECK(mv.kind == ValueKind::kMethod);
    CHECK(mv.self_type == "Yuck");
    CHECK(t.repr(m) == "<method at remote " + hex(m) + ">");
    std::uint64_t c = img.cell(img.integer(42));
    CHECK(t.read(c).self_type == "int");
    CHECK(t.repr(c) == "<cell at remote " + hex(c) + ">");
    std::uint64_t len = img.cfunction("len", 0);
    CHECK(t.repr(len) == "<built-in function len>");
    std::uint64_t lst = img.list({});
    std::uint64_t app = img.cfunction("append", lst);
    CHECK(t.repr(app) == "<built-in method append of list object at remote " + hex(lst) + ">");
    std::uint64_t one = img.integer(1);
    std::uint64_t add = img.method_wrapper("__add__", one);
    CHECK(t.repr(add) == "<method-wrapper '__add__' of int object at " + hex(one) + ">");
    std::uint64_t other = img.simple("range", 48);
    CHECK(t.repr(other) == "<range at remote " + hex(other) + ">");
    // A user class named like one of python-gdb.py's special cases.
    std::uint64_t fake_frame = img.bare_instance(img.heap_class("frame"));
    CHECK(t.read(fake_frame).kind == ValueKind::kInstance);
  }
}

TEST_CASE("NULL, garbage and half-readable objects") {
  for (int minor : kMinors) {
    CAPTURE(minor);
    Image t(minor);
    auto& img = t.img;
    CHECK(t.repr(0) == "0x0");
    CHECK(t.repr(0x10) == "<unknown at remote 0x10>");
    CHECK(t.read(0xdeadbeef).kind == ValueKind::kUnreadable);
    // Type pointer to garbage.
    std::uint64_t obj = img.alloc(16);
    img.header(obj, 0x12345678);
    CHECK(t.repr(obj) == "<unknown at remote " + hex(obj) + ">");
    // A list whose item array is garbage: the list as an object.
    std::uint64_t l = img.list({img.integer(1)});
    img.u64(l + t.offsets.sequence.list_ob_item, 0x40);
    CHECK(t.repr(l) == "<list at remote " + hex(l) + ">");
    // A garbage item inside a readable list.
    CHECK(t.repr(img.list({img.integer(1), 0x99})) == "[1, <unknown at remote 0x99>]");
    CHECK(t.repr(img.list({0})) == "[0x0]");
    // Impossible sizes.
    std::uint64_t neg = img.list({});
    img.i64(neg + t.offsets.object.ob_size, -5);
    CHECK(t.repr(neg) == "<list at remote " + hex(neg) + ">");
    std::uint64_t huge = img.list({img.integer(7)});
    img.i64(huge + t.offsets.object.ob_size, std::int64_t{1} << 50);
    PyValue hv = t.read(huge);
    CHECK(hv.node_count() < 10);  // reads what exists, then the garbage stops it
    std::uint64_t d = img.dict({{img.str("a"), img.integer(1)}});
    auto keys_addr = img.memory.read_u64(RemoteAddr(d + t.offsets.dict.ma_keys));
    REQUIRE(keys_addr);
    img.i64(*keys_addr + t.offsets.dict_keys.dk_nentries, std::int64_t{1} << 40);
    PyValue dv = t.read(d);  // garbage past the real entries: bounded, then unreadable
    CHECK(dv.node_count() <= 4);
    std::uint64_t s = img.set({img.integer(1)});
    img.i64(s + t.offsets.set.mask, (std::int64_t{1} << 40) - 1);
    CHECK(t.read(s).node_count() <= 3);
  }
}

TEST_CASE("budgets: nodes and depth end a value with kElided") {
  Image t(13);
  auto& img = t.img;
  std::vector<std::uint64_t> items;
  std::uint64_t one = img.integer(1);
  for (int i = 0; i < 5000; ++i) items.push_back(one);
  std::uint64_t big = img.list(items);
  ReadLimits limits;
  limits.max_nodes = 100;
  PyValue v = t.read(big, limits);
  CHECK(v.truncated);
  CHECK(v.node_count() <= 102);
  CHECK(v.children.back().kind == ValueKind::kElided);
  std::uint64_t deep = img.list({});
  for (int i = 0; i < 400; ++i) deep = img.list({deep});
  PyValue dv = t.read(deep);
  const PyValue* p = &dv;
  int depth = 0;
  while (!p->children.empty()) {
    p = &p->children[0];
    ++depth;
  }
  CHECK(p->kind == ValueKind::kElided);
  CHECK(depth == 257);
}

TEST_CASE("a long list is cut at 1024 characters as python-gdb.py cuts it") {
  for (int minor : kMinors) {
    CAPTURE(minor);
    Image t(minor);
    std::vector<std::uint64_t> items;
    std::string full = "[";
    for (int i = 0; i < 300; ++i) {
      items.push_back(t.img.integer(i));
      full += (i ? ", " : "") + std::to_string(i);
    }
    full += "]";
    CHECK(t.repr(t.img.list(items)) == full.substr(0, 1024) + "...(truncated)");
  }
}

TEST_CASE("frames: python-gdb.py's frame line and its locals") {
  for (int minor : kMinors) {
    CAPTURE(minor);
    Image t(minor);
    auto& img = t.img;
    ObjectImage::CodeSpec spec;
    spec.locals = {"a", "b", "unset"};
    std::uint64_t code = img.code(spec);
    std::uint64_t frame = img.frame(code, {img.integer(1), img.str("x"), 0});
    ValueReader reader(img.memory, t.offsets);
    PyValue fv = reader.read_frame(RemoteAddr(frame));
    REQUIRE(fv.kind == ValueKind::kFrame);
    CHECK(fv.line == 12);
    render::ReprOptions ro;
    CHECK(render::value_repr(fv, ro) ==
          "Frame " + hex(frame) + ", for file /app/mod.py, line 12, in f (a=1, b='x')");
    auto locals = reader.read_locals(RemoteAddr(frame));
    REQUIRE(locals);
    REQUIRE(locals->size() == 2);
    CHECK((*locals)[0].name == "a");
    CHECK((*locals)[1].name == "b");
    CHECK(render::value_repr((*locals)[1].value) == "'x'");
    // The frame object as a value prints the same line (3.11+: the address
    // of the interpreter frame it wraps).
    CHECK(t.repr(img.frame_object(frame)) == render::value_repr(fv, ro));
    // Unreadable frame.
    CHECK(reader.read_frame(RemoteAddr(0x30)).kind == ValueKind::kUnreadable);
    CHECK(!reader.read_locals(RemoteAddr(0x30)));
  }
}

TEST_CASE("frames: cells and free variables per scope") {
  for (int minor : kMinors) {
    CAPTURE(minor);
    Image t(minor);
    auto& img = t.img;
    ObjectImage::CodeSpec spec;
    // def f(a): captures a (3.11+: a local that is also a cell); has a cell
    // variable `c` and a free variable `fr`.
    spec.locals = {"a"};
    spec.cells = {"c"};
    spec.frees = {"fr"};
    if (minor >= 11) spec.kinds = {0x20 | 0x40, 0x40, 0x80};
    std::uint64_t code = img.code(spec);
    std::uint64_t a_value = img.integer(5);
    // 3.8-3.10 move a captured argument into its cell and clear the slot; the
    // cell is the cellvar slot. 3.11+ keep the cell in the argument's slot.
    std::vector<std::uint64_t> slots =
        minor <= 10
            ? std::vector<std::uint64_t>{0, img.cell(img.str("cv")), img.cell(img.integer(9))}
            : std::vector<std::uint64_t>{img.cell(a_value), img.cell(img.str("cv")),
                                         img.cell(img.integer(9))};
    std::uint64_t frame = img.frame(code, slots);
    ValueReader reader(img.memory, t.offsets);
    auto gdb_locals = reader.read_locals(RemoteAddr(frame));
    REQUIRE(gdb_locals);
    if (minor <= 10) {
      CHECK(gdb_locals->empty());
    } else {
      REQUIRE(gdb_locals->size() == 1);
      CHECK(render::value_repr((*gdb_locals)[0].value).starts_with("<cell at remote 0x"));
    }
    auto all = reader.read_locals(RemoteAddr(frame), LocalsScope::kAll);
    REQUIRE(all);
    std::string text;
    for (const auto& nv : *all) text += nv.name + "=" + render::value_repr(nv.value) + " ";
    CHECK(text == (minor <= 10 ? "c='cv' fr=9 " : "a=5 c='cv' fr=9 "));
  }
}

TEST_CASE("py-print lookups: local, global, builtin, missing") {
  for (int minor : kMinors) {
    CAPTURE(minor);
    Image t(minor);
    auto& img = t.img;
    ObjectImage::CodeSpec spec;
    spec.locals = {"x"};
    std::uint64_t globals =
        img.dict({{img.str("__name__"), img.str("__main__")}, {img.str("x"), img.integer(0)}});
    std::uint64_t builtins = img.dict({{img.str("len"), img.cfunction("len", 0)}});
    std::uint64_t frame = img.frame(img.code(spec), {img.list({})}, globals, builtins);
    ValueReader reader(img.memory, t.offsets);
    auto local = reader.lookup(RemoteAddr(frame), "x");
    REQUIRE(local);
    REQUIRE(*local);
    CHECK((*local)->scope == VariableLookup::Scope::kLocal);
    CHECK(render::value_repr((*local)->value) == "[]");
    auto global = reader.lookup(RemoteAddr(frame), "__name__");
    REQUIRE((global && *global));
    CHECK(scope_name((*global)->scope) == "global");
    CHECK(render::value_repr((*global)->value) == "'__main__'");
    auto builtin = reader.lookup(RemoteAddr(frame), "len");
    REQUIRE((builtin && *builtin));
    CHECK(scope_name((*builtin)->scope) == "builtin");
    CHECK(render::value_repr((*builtin)->value) == "<built-in function len>");
    auto missing = reader.lookup(RemoteAddr(frame), "nope");
    REQUIRE(missing);
    CHECK(!*missing);
    CHECK(!reader.lookup(RemoteAddr(0x30), "x"));
  }
}

TEST_CASE("a frame whose local is its own frame object prints <...> there") {
  for (int minor : kMinors) {
    CAPTURE(minor);
    Image t(minor);
    auto& img = t.img;
    ObjectImage::CodeSpec spec;
    spec.locals = {"me"};
    std::uint64_t code = img.code(spec);
    std::uint64_t frame = img.frame(code, {0});
    std::uint64_t obj = img.frame_object(frame);
    std::uint64_t slot = minor <= 10 ? frame + t.offsets.frame_vars.f_localsplus
                                     : frame + t.offsets.iframe.localsplus;
    img.u64(slot, obj);
    ValueReader reader(img.memory, t.offsets);
    CHECK(render::value_repr(reader.read_frame(RemoteAddr(frame))) ==
          "Frame " + hex(frame) + ", for file /app/mod.py, line 12, in f (me=<...>)");
  }
}

namespace {

// A JSON string literal's value, with \uXXXX escapes (lone surrogates too)
// as WTF-8.
std::string json_string(std::string_view s) {
  std::string out;
  REQUIRE((s.size() >= 2 && s.front() == '"' && s.back() == '"'));
  for (std::size_t i = 1; i + 1 < s.size(); ++i) {
    if (s[i] != '\\') {
      out += s[i];
      continue;
    }
    char e = s[++i];
    switch (e) {
      case 'n': out += '\n'; break;
      case 't': out += '\t'; break;
      case 'r': out += '\r'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'u': {
        auto hex4 = [&](std::size_t at) {
          return static_cast<char32_t>(std::stoul(std::string(s.substr(at, 4)), nullptr, 16));
        };
        char32_t cp = hex4(i + 1);
        i += 4;
        if (cp >= 0xd800 && cp < 0xdc00 && s.substr(i + 1, 2) == "\\u") {
          char32_t low = hex4(i + 3);
          if (low >= 0xdc00 && low < 0xe000) {
            cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
            i += 6;
          }
        }
        append_wtf8(out, cp);
        break;
      }
      default: out += e;  // " \ /
    }
  }
  return out;
}

}  // namespace

TEST_CASE("recorded images of live objects read back as they printed") {
  for (int minor : kMinors) {
    CAPTURE(minor);
    std::ifstream in(fmt::format("{}/values/3.{}.txt", PYATTACH_TEST_DATA_DIR, minor));
    REQUIRE(in);
    testing::FakeMemory memory;
    Offsets offsets = recorded_offsets(minor);
    ValueReader reader(memory, offsets);
    render::ReprOptions options;
    options.python_minor = minor;
    std::string line, name;
    std::uint64_t addr = 0;
    int checked = 0;
    while (std::getline(in, line)) {
      if (line.empty() || line[0] == '#') continue;
      auto space = line.find(' ');
      std::string_view key = std::string_view(line).substr(0, space);
      std::string_view rest = std::string_view(line).substr(space + 1);
      if (key == "version") {
        CHECK(rest == fmt::format("3.{}", minor));
      } else if (key == "region") {
        auto sp = rest.find(' ');
        std::uint64_t start = std::stoull(std::string(rest.substr(0, sp)), nullptr, 16);
        std::string_view hex = rest.substr(sp + 1);
        std::string bytes(hex.size() / 2, '\0');
        for (std::size_t i = 0; i < bytes.size(); ++i)
          bytes[i] = static_cast<char>(std::stoi(std::string(hex.substr(2 * i, 2)), nullptr, 16));
        memory.add_region(start, bytes.size());
        memory.write_bytes(start, bytes);
      } else if (key == "value") {
        auto sp = rest.find(' ');
        name = rest.substr(0, sp);
        addr = std::stoull(std::string(rest.substr(sp + 1)), nullptr, 16);
      } else if (key == "expect") {
        CAPTURE(name);
        CHECK(render::value_repr(reader.read(RemoteAddr(addr)), options) == json_string(rest));
        ++checked;
      }
    }
    CHECK(checked == 23);
  }
}

TEST_CASE("random images: never a crash, always within the budget") {
  // Memory full of pointers into itself, small numbers and type-like words:
  // every read must end, stay within max_nodes, and print.
  std::uint64_t seed = 0x9e3779b97f4a7c15ull;
  auto next = [&] {
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    return seed;
  };
  for (int minor : kMinors) {
    CAPTURE(minor);
    Offsets offsets = recorded_offsets(minor);
    testing::FakeMemory memory;
    constexpr std::uint64_t kBase = 0x60000000;
    constexpr std::size_t kSize = 1 << 16;
    memory.add_region(kBase, kSize);
    for (std::uint64_t at = kBase; at < kBase + kSize; at += 8) {
      std::uint64_t r = next();
      std::uint64_t word = r % 4 == 0   ? kBase + (next() % kSize & ~std::uint64_t{7})
                           : r % 4 == 1 ? next() % 64
                           : r % 4 == 2 ? (std::uint64_t{1} << (next() % 64))
                                        : next();
      memory.write_value(at, word);
    }
    // Some type names, so that dispatch reaches every reader.
    const char* names[] = {"list", "dict", "tuple", "str", "int", "set", "frame", "bool",
                           "float", "builtin_function_or_method", "method-wrapper", "cell"};
    for (int i = 0; i < 12; ++i)
      memory.write_bytes(kBase + kSize - 512 + 32 * static_cast<std::uint64_t>(i),
                         std::string(names[i]) + '\0');
    // 48 "types" with those names and random flags; a quarter of all words
    // point at one, so most objects have a readable type.
    std::vector<std::uint64_t> types;
    for (int i = 0; i < 48; ++i) {
      std::uint64_t type = kBase + 1024 * static_cast<std::uint64_t>(i + 1);
      memory.write_value(type + offsets.type.tp_name,
                         kBase + kSize - 512 + 32 * static_cast<std::uint64_t>(i % 12));
      types.push_back(type);
    }
    for (std::uint64_t at = kBase; at < kBase + kSize - 512; at += 8)
      if (next() % 4 == 0 && (at - kBase) % 1024 != 24)
        memory.write_value(at, types[next() % types.size()]);
    std::map<ValueKind, int> kinds;
    ReadLimits limits;
    limits.max_nodes = 300;
    ValueReader reader(memory, offsets, limits);
    for (int i = 0; i < 2000; ++i) {
      RemoteAddr obj(kBase + (next() % kSize & ~std::uint64_t{7}));
      PyValue v = i % 3 == 0 ? reader.read_frame(obj) : reader.read(obj);
      CHECK(v.node_count() <= limits.max_nodes + 64);
      ++kinds[v.kind];
      render::value_repr(v);
      (void)reader.read_locals(obj, i % 2 ? LocalsScope::kAll : LocalsScope::kPythonGdb);
    }
    CHECK(kinds.size() >= 10);  // the readers were reached, not just "unknown"
  }
}
