#!/usr/bin/env python3
"""Records raw memory images of live Python objects with their repr (CPython 3.8-3.13).

Run it once per interpreter; it writes tests/data/values/3.X.txt for its own
version 3.X:

    for v in 3.8 3.9 3.10 3.11 3.12 3.13; do
      "$(pyenv root)"/versions/$v*/bin/python$v scripts/record_value_images.py
    done

For each object it dumps the memory pyattach's value reader looks at: the
object (with the words before it, where 3.11+ keep an instance's dict or
values), its type and tp_name, and the buffers the object points to (list
item arrays, dict keys and values, set tables, bytearray data), recursively
for the objects inside. Memory is read through /proc/self/mem, so a stray
pointer costs an error, not a crash. The expected text is what python-gdb.py
prints for the object under the deviations pyattach documents: repr() itself
for the value types, python-gdb.py's <Name(attr=...) at remote 0x...> for
instances; both cut at 1024 characters as get_truncated_repr cuts them.

File format: '#' lines are comments; 'version 3.X'; 'region ADDR HEX' lines
(merged, non-overlapping); 'value NAME ADDR' followed by 'expect TEXT'
(TEXT as a JSON string). tests/unit/test_values.cpp parses it.
"""

import ctypes
import gc
import json
import os
import struct
import sys

MINOR = sys.version_info[1]
if sys.version_info[0] != 3 or not 8 <= MINOR <= 13:
    sys.exit("record_value_images.py: needs CPython 3.8-3.13, not %s" % sys.version)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAX_OUTPUT_LEN = 1024
# PyHeapTypeObject.ht_cached_keys in pyenv's builds (tests/support/recorded_layouts.h).
HT_CACHED_KEYS = {11: 872, 12: 880, 13: 880}

_mem = open("/proc/self/mem", "rb", buffering=0)


def read(addr, n):
    """Up to n bytes at addr; stops at the first unreadable page."""
    out = b""
    while n > 0:
        chunk = min(n, 4096 - addr % 4096)
        try:
            _mem.seek(addr)
            data = _mem.read(chunk)
        except (OSError, ValueError, OverflowError):
            break
        out += data
        if len(data) < chunk:
            break
        addr += chunk
        n -= chunk
    return out


def u64(addr):
    data = read(addr, 8)
    return struct.unpack("<Q", data)[0] if len(data) == 8 else 0


def i64(addr):
    data = read(addr, 8)
    return struct.unpack("<q", data)[0] if len(data) == 8 else 0


def u8(addr):
    data = read(addr, 1)
    return data[0] if data else 0


class Image:
    def __init__(self):
        self.ranges = []  # (start, end)
        self.seen = set()
        self.keep = []  # objects we cast from addresses, kept alive

    def add(self, start, size):
        if start > 0 and size > 0:
            self.ranges.append((start, start + size))

    def c_string(self, addr):
        # RemoteMemory::read_c_string reads 64-byte chunks from addr on.
        data = read(addr, 256)
        end = data.find(b"\0")
        length = (end if end >= 0 else len(data)) + 1
        self.add(addr, len(read(addr, (length + 63) // 64 * 64)))

    def type_(self, t):
        if id(t) in self.seen:
            return
        self.seen.add(id(t))
        # What the reader uses: the fields up to tp_dictoffset, and
        # ht_cached_keys of heap types.
        self.add(id(t), 296)
        if t.__flags__ & (1 << 9) and MINOR >= 11:
            self.add(id(t) + HT_CACHED_KEYS[MINOR], 8)
        self.c_string(u64(id(t) + 24))  # tp_name

    def keys(self, addr):
        if MINOR <= 10:
            size = i64(addr + 8)
            ix = 1 if size <= 0xFF else 2 if size <= 0xFFFF else 4
            total = 40 + size * ix + 24 * (2 * size // 3)
        else:
            log2_size, log2_ib, kind = u8(addr + 8), u8(addr + 9), u8(addr + 10)
            entry = 24 if kind == 0 else 16
            total = 32 + (1 << log2_ib) + entry * ((2 << log2_size) // 3)
        self.add(addr, min(total, 1 << 20))

    def obj_at(self, addr):
        o = ctypes.cast(addr, ctypes.py_object).value
        self.keep.append(o)
        self.walk(o)

    def walk(self, o, depth=0):
        if id(o) in self.seen or depth > 50:
            return
        self.seen.add(id(o))
        a = id(o)
        self.add(a - 32, 32 + sys.getsizeof(o) + 16)
        t = type(o)
        self.type_(t)
        if isinstance(o, list):
            self.add(u64(a + 24), 8 * len(o))
        elif isinstance(o, dict):
            self.keys(u64(a + 32))
            values = u64(a + 40)
            if values:
                self.add(values - 16, 16 + 8 * max(len(o), 1) + 64)
            for key in o:  # 3.11+ traverse only the values of str-keyed dicts
                self.walk(key, depth + 1)
        elif isinstance(o, (set, frozenset)):
            mask, table = i64(a + 32), u64(a + 40)
            self.add(table, 16 * (mask + 1))
            members = {id(m) for m in o}
            for i in range(mask + 1):
                key = u64(table + 16 * i)
                if key and key not in members and key not in self.seen:
                    self.seen.add(key)  # the dummy: an object of "<dummy key> type"
                    self.add(key, 16)
                    dummy_type = u64(key + 8)
                    self.add(dummy_type, 256)
                    self.c_string(u64(dummy_type + 24))
        elif isinstance(o, bytearray):
            self.add(u64(a + 40), len(o) + 1)
        if t.__flags__ & (1 << 9) and MINOR >= 11:  # an instance: dict or values
            self.instance(o, t)
        for r in gc.get_referents(o):
            if not isinstance(r, type):
                self.walk(r, depth + 1)

    def instance(self, o, t):
        a = id(o)
        cached = u64(id(t) + HT_CACHED_KEYS[MINOR])
        if cached:
            self.keys(cached)
            n = i64(cached + 24)  # dk_nentries
            for i in range(n):
                key = u64(cached + 32 + (1 << u8(cached + 9)) + 16 * i)
                if key:
                    self.obj_at(key)
        if MINOR == 11:
            values = u64(a - 32)
            if values:
                self.add(values, 8 * 64)
        elif MINOR == 12:
            dorv = u64(a - 24)
            if dorv & 1:
                self.add(dorv + 1, 8 * 64)
        else:
            self.add(a, t.__basicsize__ + 8 + 8 * 64)


def expected(o):
    text = expected_repr(o, set())
    if len(text) > MAX_OUTPUT_LEN:
        text = text[:MAX_OUTPUT_LEN] + "...(truncated)"
    return text


def expected_repr(o, path):
    t = type(o)
    if t.__flags__ & (1 << 9):  # an instance of a heap type, python-gdb.py style
        if id(o) in path:
            return "<...>"
        attrs = ", ".join("%s=%s" % (k, expected_repr(v, path | {id(o)}))
                          for k, v in object.__getattribute__(o, "__dict__").items())
        return "<%s(%s) at remote 0x%x>" % (t.__name__, attrs, id(o))
    if isinstance(o, list) and any(type(x).__flags__ & (1 << 9) for x in o):
        return "[%s]" % ", ".join(expected_repr(x, path | {id(o)}) for x in o)
    return repr(o)


class Point:
    def __init__(self, a, b):
        self.a = a
        self.b = b


class Many:
    def __init__(self):
        for k in range(12):
            setattr(self, "attr%d" % k, k * k)


def objects():
    rl = [1, "two"]
    rl.append(rl)
    rd = {"k": 1}
    rd["self"] = rd
    deleted = {"a": 1, "b": 2, "c": 3}
    del deleted["b"]
    touched = Point(1, None)
    touched.__dict__  # 3.11+: materialise the dict
    return [
        ("ints", [0, 1, -1, 2**30, 2**64, -2**100, 10**40, True, False, None]),
        ("floats", [2.5, 0.1, -0.0, 1e300, 5e-324, float("inf"), 1 + 2j, -1.5j]),
        ("str_ascii", "hello 'world'"),
        ("str_quotes", "a\"b'c"),
        ("str_latin1", "caf\xe9 \x85"),
        ("str_ucs2", "\u20ac \u2028"),
        ("str_ucs4", "\U0001f600 \U000e0001"),
        ("str_surrogate", "x\ud800y"),
        ("str_controls", "a\tb\nc\\d\x7f"),
        ("str_long", "abc" * 500),
        ("bytes", b"ab\x00\xff'\"\\"),
        ("bytearray", bytearray(b"xy'z")),
        ("containers", [(), (1,), (1, "a"), [], {}, set(), frozenset(), {1, 2, 3},
                        frozenset({"x"}), {"a": 1, 2: [3], (4,): None}]),
        ("nested", {"a": [1, (2, {3: "x"})], "b": {"c": frozenset({4})}}),
        ("recursive_list", rl),
        ("recursive_dict", rd),
        ("deleted_key", deleted),
        ("long_list", list(range(250)) * 2),  # small ints: static, shared
        ("exceptions", [ValueError("msg"), KeyError(1, 2), TypeError()]),
        ("instance", Point(1, "x")),
        ("instance_many", Many()),
        ("instance_touched", touched),
        ("instances", [Point(2.5, [1]), Point(None, (2,))]),
    ]


def main():
    items = objects()
    image = Image()
    for name, o in items:
        image.walk(o)
    ranges = sorted(image.ranges)
    merged = []
    for start, end in ranges:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    # Read everything before computing the expected texts: those look at
    # __dict__, which 3.11+ create on first access.
    snapshot = [(start, read(start, end - start)) for start, end in merged]
    records = [(name, id(o), expected(o)) for name, o in items]
    out_dir = os.path.join(REPO, "tests", "data", "values")
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "3.%d.txt" % MINOR)
    with open(path, "w") as f:
        f.write("# Objects of a live %s\n" % sys.version.replace("\n", " "))
        f.write("# by scripts/record_value_images.py: memory regions, then each\n")
        f.write("# object's address and the text expected for it (JSON).\n")
        f.write("version 3.%d\n" % MINOR)
        total = 0
        for start, data in snapshot:
            if data:
                f.write("region %x %s\n" % (start, data.hex()))
                total += len(data)
        for name, addr, text in records:
            f.write("value %s %x\n" % (name, addr))
            f.write("expect %s\n" % json.dumps(text, ensure_ascii=False))
    print("%s: %d objects, %d regions, %d bytes" % (path, len(records), len(merged), total))


if __name__ == "__main__":
    main()
