#!/usr/bin/env python3
"""Records decoder test data from the running interpreter (CPython 3.8-3.13).

Run it once per interpreter; it writes, for its own version 3.X:

  tests/data/linetables/3.X.txt  line tables of many code objects, with the
                                 line CPython itself reports for every
                                 instruction offset
  tests/data/strings/3.X.txt     raw memory images of live str and bytes
                                 objects, with their expected decoding

    for v in 3.8 3.9 3.10 3.11 3.12 3.13; do
      "$(pyenv root)"/versions/$v*/bin/python$v scripts/record_decoder_data.py
    done

The truth for "the line at offset N" is PyCode_Addr2Line itself, called
through ctypes: that is the function pyattach's decoder reimplements. The
script also cross-checks it against what Python exposes (dis.findlinestarts on
3.8/3.9, co_lines() on 3.10+, co_positions() on 3.11+) and stops on any
disagreement, so a recording never contains data the interpreter contradicts.

File format (both files): '#' lines are comments; a record starts with
'code' or 'string'/'bytes' and ends with 'end'; every other line is
'key value...'. tests/unit/test_line_table.cpp and test_strings.cpp parse it.
"""

import argparse
import ctypes
import dis
import os
import random
import subprocess
import sys

MINOR = sys.version_info[1]
if sys.version_info[0] != 3 or not 8 <= MINOR <= 13:
    sys.exit("record_decoder_data.py: needs CPython 3.8-3.13, not %s" % sys.version)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_addr2line = ctypes.pythonapi.PyCode_Addr2Line
_addr2line.argtypes = [ctypes.py_object, ctypes.c_int]
_addr2line.restype = ctypes.c_int


def addr2line(code, addrq):
    line = _addr2line(code, addrq)
    return None if line == -1 else line


# --------------------------------------------------------------------------
# Sources for line tables. Each is compiled; every code object inside it
# (functions, lambdas, comprehensions, classes, the module itself) is a record.

HANDWRITTEN = r'''
import os


def loops(n):
    total = 0
    for i in range(n):
        if i % 2:
            total += i
        elif i % 3:
            continue
        else:
            total -= 1
    while total > 0:
        total //= 2
        if total == 7:
            break
    else:
        total = -1
    return total


def handlers(path):
    try:
        f = open(path)
    except FileNotFoundError as e:
        print("missing", e)
        return None
    except (OSError,
            ValueError):
        raise
    else:
        with f:
            data = f.read()
    finally:
        print("done")
    try:
        pass
    finally:
        x = 1
    return data


def multiline(a, b,
              c=3,
              *args,
              **kwargs):
    value = (a +
             b *
             c)
    result = call(
        value,
        a,
        key=[
            1,
            2,
        ],
    )
    return {
        "a": a,
        "b": (b
              if b else
              c),
    }[
        "a"
    ]


square = lambda x: x * x
twice = (lambda f:
         lambda x:
         f(f(x)))


def comprehensions(items):
    a = [x * 2 for x in items if x]
    b = {x: y
         for x, y in zip(items, items)
         if x != y}
    c = {x for x in items}
    d = list(x
             for x in items)
    e = [[y for y in range(x)] for x in items]
    return a, b, c, d, e


def generator(n):
    yield 1
    for i in range(n):
        received = yield i
        if received:
            yield from range(received)
    return "end"


async def coroutine(session):
    async with session as s:
        async for item in s:
            await item
    return await session.close()


def decorator(*args):
    return lambda f: f


@decorator(1,
           2)
@decorator
def decorated(x):
    return x


def only_pass():
    pass


def only_doc():
    """Docstring only."""


def empty_return():
    return


class Klass(object):
    attr = 1

    def method(self):
        return self.attr

    @property
    def prop(self):
        return (
            self
            .attr
        )

    class Inner:
        def deep(self):
            def deeper():
                return 42
            return deeper


def closures():
    x = 1

    def inner():
        nonlocal x
        x += 1
        return x
    return inner


def negative_deltas(a, b):
    x = [
        a,
        b,
    ]
    for i in x:
        y = (i
             +
             a)
    assert a, (
        "message"
    )
    return (
        a
        if b else
        b
    )


def one_line_huge():
    values = [v0, v1, v2, v3, v4, v5, v6, v7, v8, v9, v10, v11, v12, v13, v14, v15, v16, v17, v18, v19, v20, v21, v22, v23, v24, v25, v26, v27, v28, v29, v30, v31, v32, v33, v34, v35, v36, v37, v38, v39, v40, v41, v42, v43, v44, v45, v46, v47, v48, v49, v50, v51, v52, v53, v54, v55, v56, v57, v58, v59, v60, v61, v62, v63, v64, v65, v66, v67, v68, v69, v70, v71, v72, v73, v74, v75, v76, v77, v78, v79, v80, v81, v82, v83, v84, v85, v86, v87, v88, v89, v90, v91, v92, v93, v94, v95, v96, v97, v98, v99, v100, v101, v102, v103, v104, v105, v106, v107, v108, v109, v110, v111, v112, v113, v114, v115, v116, v117, v118, v119, v120, v121, v122, v123, v124, v125, v126, v127, v128, v129, v130, v131, v132, v133, v134, v135, v136, v137, v138, v139]
    return values


def walrus_and_fstrings(items):
    if (n := len(items)) > 10:
        print(f"{n} items: {items[0]!r:>10} "
              f"and {items[-1]}")
    return n


def global_statements():
    global GLOBAL_X
    GLOBAL_X = 1
    del GLOBAL_X
    import sys as _s
    from os import path as _p
    return _s, _p
'''

MATCH_SOURCE = r'''
def matcher(command):
    match command.split():
        case [action]:
            return action
        case [action, obj]:
            return (action,
                    obj)
        case Point(x=0, y=0):
            return "origin"
        case {"key": value, **rest}:
            return value
        case _:
            return None
'''

EXCEPT_STAR_SOURCE = r'''
def groups():
    try:
        raise ExceptionGroup("eg", [ValueError(1), TypeError(2)])
    except* ValueError as e:
        print("value", e)
    except* TypeError:
        pass
'''


def long_function(gaps):
    """A function whose statements are separated by the given numbers of
    blank lines: line deltas of 127, 128, 255, 256 and more need several
    lnotab pairs (3.8/3.9), several linetable pairs (3.10) and long varints
    (3.11+)."""
    lines = ["def long_function(a):", "    x = a"]
    for i, gap in enumerate(gaps):
        lines.extend([""] * gap)
        lines.append("    x = x + %d" % i)
    # A backward jump over a long distance: the loop condition is checked on
    # the 'while' line after the body many lines below.
    lines.append("    while x < 10:")
    lines.extend(["        # filler"] * 300)
    lines.append("        x += 1")
    lines.append("    return x")
    return "\n".join(lines) + "\n"


def synthetic_module(seed, n_statements):
    """Module-level code with many kinds of statements and irregular gaps."""
    rnd = random.Random(seed)
    out = []
    for i in range(n_statements):
        kind = rnd.randrange(9)
        gap = rnd.choice([0, 0, 0, 1, 1, 2, 5, 40, 130, 300])
        out.extend([""] * gap)
        if kind == 0:
            out.append("v%d = %d" % (i, rnd.randrange(1000)))
        elif kind == 1:
            out.append("v%d = (1 +\n      2 +\n      %d)" % (i, i))
        elif kind == 2:
            out.append("for q in range(%d):\n    v%d = q\n    if q:\n        break" % (i, i))
        elif kind == 3:
            out.append("def f%d(a, b=%d):\n    return (a,\n            b)" % (i, i))
        elif kind == 4:
            out.append("try:\n    v%d = 1 / %d\nexcept ZeroDivisionError:\n    v%d = 0" % (i, i % 3, i))
        elif kind == 5:
            out.append("v%d = [x for x in range(%d) if x %% 2]" % (i, i))
        elif kind == 6:
            out.append("if v%d if 'v%d' in dir() else 0:\n    pass\nelse:\n    v%d = None" % (i - 1, i - 1, i))
        elif kind == 7:
            out.append("v%d = {\n    'k': %d,\n}['k']" % (i, i))
        else:
            out.append("class C%d:\n    a = %d\n    def m(self):\n        return self.a" % (i, i))
    return "\n".join(out) + "\n"


def sources():
    yield "handwritten", HANDWRITTEN
    if MINOR >= 10:
        yield "match", MATCH_SOURCE
    if MINOR >= 11:
        yield "except_star", EXCEPT_STAR_SOURCE
    yield "long_function", long_function([3, 126, 127, 128, 200, 254, 255, 256, 257, 600, 1000])
    yield "synthetic_a", synthetic_module(1, 80)
    yield "synthetic_b", synthetic_module(2, 40)
    # firstlineno itself is large: the module's first statement is far down.
    yield "far_down", "\n" * 70000 + "def far():\n    return 1\nfar()\n"
    yield "empty_module", ""
    yield "one_expression", "1"


def walk_code(code):
    yield code
    for const in code.co_consts:
        if hasattr(const, "co_code"):
            yield from walk_code(const)


def line_table_bytes(code):
    if MINOR <= 9:
        return code.co_lnotab
    return code.co_linetable


def per_offset_lines(code):
    return [addr2line(code, off) for off in range(0, len(code.co_code), 2)]


def cross_check(code, lines, label):
    """Stops if what Python reports disagrees with PyCode_Addr2Line."""
    def fail(msg):
        sys.exit("%s (%s): %s" % (label, code.co_name, msg))

    n = len(code.co_code)
    if MINOR <= 9:
        starts = list(dis.findlinestarts(code))
        for idx, off in enumerate(range(0, n, 2)):
            expect = code.co_firstlineno
            for start, line in starts:
                if start <= off:
                    expect = line
            if lines[idx] != expect:
                fail("findlinestarts says %r at %d, PyCode_Addr2Line %r" % (expect, off, lines[idx]))
        return
    covered = [False] * (n // 2)
    for start, end, line in code.co_lines():
        for off in range(start, end, 2):
            if off < n:
                covered[off // 2] = True
                if lines[off // 2] != line:
                    fail("co_lines says %r at %d, PyCode_Addr2Line %r" % (line, off, lines[off // 2]))
    for idx, seen in enumerate(covered):
        if not seen and lines[idx] is not None:
            fail("offset %d outside co_lines but PyCode_Addr2Line says %r" % (idx * 2, lines[idx]))
    if MINOR >= 11:
        positions = list(code.co_positions())
        if len(positions) != n // 2:
            fail("co_positions has %d entries for %d code units" % (len(positions), n // 2))
        for idx, pos in enumerate(positions):
            if pos[0] != lines[idx]:
                fail("co_positions says %r at %d, PyCode_Addr2Line %r" % (pos[0], idx * 2, lines[idx]))


def rle(values):
    out = []
    i = 0
    while i < len(values):
        j = i
        while j < len(values) and values[j] == values[i]:
            j += 1
        text = "-" if values[i] is None else str(values[i])
        out.append(text if j - i == 1 else "%s*%d" % (text, j - i))
        i = j
    return " ".join(out)


def code_records(label, source):
    code = compile(source, "<%s>" % label, "exec")
    for index, co in enumerate(walk_code(code)):
        name = "%s/%d/%s" % (label, index, co.co_name.replace(" ", "_"))
        lines = per_offset_lines(co)
        cross_check(co, lines, name)
        rec = ["code " + name,
               "firstlineno %d" % co.co_firstlineno,
               "codesize %d" % len(co.co_code),
               "table " + (line_table_bytes(co).hex() or "-"),
               "before %s" % _text(addr2line(co, -1)),
               "lines " + rle(lines)]
        if MINOR <= 9:
            rec.append("starts " + " ".join("%d:%d" % s for s in dis.findlinestarts(co)))
        else:
            rec.append("ranges " + " ".join("%d:%d:%s" % (s, e, _text(l))
                                            for s, e, l in co.co_lines()))
        rec.append("end")
        yield rec


def _text(line):
    return "-" if line is None else str(line)


def table_stats(records):
    """Counts the entry kinds that matter for coverage, for the log."""
    stats = {}
    for rec in records:
        hexed = rec[3].split(" ", 1)[1]
        table = b"" if hexed == "-" else bytes.fromhex(hexed)
        if MINOR <= 9:
            for i in range(0, len(table) - 1, 2):
                if table[i] == 255:
                    stats["addr delta 255"] = stats.get("addr delta 255", 0) + 1
                if table[i + 1] in (127, 129):
                    stats["line delta +-127"] = stats.get("line delta +-127", 0) + 1
                if table[i + 1] >= 128:
                    stats["negative line delta"] = stats.get("negative line delta", 0) + 1
        elif MINOR == 10:
            for i in range(0, len(table) - 1, 2):
                if table[i + 1] == 128:
                    stats["no line (-128)"] = stats.get("no line (-128)", 0) + 1
                elif table[i + 1] > 128:
                    stats["negative line delta"] = stats.get("negative line delta", 0) + 1
                if table[i] == 254:
                    stats["addr delta 254"] = stats.get("addr delta 254", 0) + 1
        else:
            for b in table:
                if b & 128:
                    key = "code %d" % ((b >> 3) & 15)
                    stats[key] = stats.get(key, 0) + 1
    return stats


def record_line_tables(out_path, extra_records):
    records = []
    for label, source in sources():
        records.extend(code_records(label, source))
    records.extend(extra_records)
    header = ["# Line tables recorded from %s" % sys.version.replace("\n", " "),
              "# by scripts/record_decoder_data.py. lines: PyCode_Addr2Line per code unit",
              "# (run-length: value*count, '-' = no line); before: PyCode_Addr2Line(co, -1);",
              "# starts: dis.findlinestarts (3.8/3.9); ranges: co_lines() (3.10+).",
              "format " + ("lnotab" if MINOR <= 9 else "linetable310" if MINOR == 10 else "locations")]
    with open(out_path, "w") as f:
        f.write("\n".join(header) + "\n")
        for rec in records:
            f.write("\n".join(rec) + "\n")
    stats = table_stats(records)
    print("%s: %d code objects, %s" % (out_path, len(records),
                                       ", ".join("%s: %d" % kv for kv in sorted(stats.items()))))


def child_no_debug_ranges():
    """Runs in a child started with -X no_debug_ranges (3.11+), where the
    compiler writes no columns: the table then uses code 13 ('no column')."""
    source = HANDWRITTEN.split("\n\nsquare = ")[0] + "\n" + long_function([127, 300])
    for rec in code_records("no_debug_ranges", source):
        print("\n".join(rec))


# --------------------------------------------------------------------------
# Strings: memory images of live objects.

# Sizes of the C structs for this version, checked below against the live
# objects (the inline data must start exactly there).
if MINOR <= 11:
    ASCII_SIZE, COMPACT_SIZE, LEGACY_DATA_OFFSET, UNICODE_OBJECT_SIZE = 48, 72, 72, 80
else:  # 3.12 dropped wstr/wstr_length
    ASCII_SIZE, COMPACT_SIZE, LEGACY_DATA_OFFSET, UNICODE_OBJECT_SIZE = 40, 56, 56, 64
STATE_OFFSET = 32
BYTES_SVAL_OFFSET = 32


class StrSubclass(str):
    """Instances of str subclasses are never compact: their characters live
    in a separate buffer behind data.any, in every version 3.8-3.13."""


def legacy_from_unicode(text):
    """A 'legacy' string made the 3.8-3.11 way: PyUnicode_FromUnicode(NULL, n),
    the wchar_t buffer filled, then made ready. Returns None where the C API
    is gone (3.12+) or no longer makes legacy strings."""
    if not hasattr(ctypes.pythonapi, "PyUnicode_FromUnicode") or not text:
        return None
    new = ctypes.pythonapi.PyUnicode_FromUnicode
    new.argtypes = [ctypes.c_void_p, ctypes.c_ssize_t]
    new.restype = ctypes.py_object
    as_unicode = ctypes.pythonapi.PyUnicode_AsUnicode
    as_unicode.argtypes = [ctypes.py_object]
    as_unicode.restype = ctypes.c_void_p
    ready = ctypes.pythonapi._PyUnicode_Ready
    ready.argtypes = [ctypes.py_object]
    ready.restype = ctypes.c_int
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = new(None, len(text))
        wstr = as_unicode(s)
    ctypes.memmove(wstr, text.encode("utf-32-le"), 4 * len(text))
    if ready(s) != 0:
        return None
    return s


def state_of(s):
    state = ctypes.c_uint32.from_address(id(s) + STATE_OFFSET).value
    return (state >> 2) & 7, (state >> 5) & 1, (state >> 6) & 1


def encoded_units(s, kind):
    return s.encode({1: "latin-1", 2: "utf-16-le", 4: "utf-32-le"}[kind],
                    "surrogatepass")


def string_record(label, s):
    kind, compact, ascii_ = state_of(s)
    if kind not in (1, 2, 4):
        sys.exit("%s: unexpected kind %d" % (label, kind))
    units = encoded_units(s, kind)
    if len(units) != len(s) * kind:
        sys.exit("%s: code units do not match the kind" % label)
    rec = ["string " + label, "addr %x" % id(s)]
    if compact:
        header = ASCII_SIZE if ascii_ else COMPACT_SIZE
        size = header + (len(s) + 1) * kind
        image = ctypes.string_at(id(s), size)
        if image[header:header + len(units)] != units:
            sys.exit("%s: inline data is not at offset %d: layout assumption wrong" % (label, header))
        rec.append("object " + image.hex())
    else:
        image = ctypes.string_at(id(s), UNICODE_OBJECT_SIZE)
        data = ctypes.c_void_p.from_address(id(s) + LEGACY_DATA_OFFSET).value
        data_bytes = ctypes.string_at(data, (len(s) + 1) * kind)
        if data_bytes[:len(units)] != units:
            sys.exit("%s: data.any is not at offset %d: layout assumption wrong" % (label, LEGACY_DATA_OFFSET))
        rec.append("object " + image.hex())
        rec.append("data %x %s" % (data, data_bytes.hex()))
    rec.append("expect_length %d" % len(s))
    rec.append("expect_kind %d" % kind)
    rec.append("expect_ascii %d" % ascii_)
    rec.append("expect_compact %d" % compact)
    rec.append("expect_utf8 " + (s.encode("utf-8", "backslashreplace").hex() or "-"))
    rec.append("end")
    return rec


def bytes_record(label, b):
    size = BYTES_SVAL_OFFSET + len(b) + 1
    image = ctypes.string_at(id(b), size)
    if image[BYTES_SVAL_OFFSET:BYTES_SVAL_OFFSET + len(b)] != b:
        sys.exit("%s: ob_sval is not at offset %d" % (label, BYTES_SVAL_OFFSET))
    return ["bytes " + label, "addr %x" % id(b), "object " + image.hex(),
            "expect_hex " + (b.hex() or "-"), "end"]


def record_strings(out_path):
    # Built at run time so that none is a constant shared with the code.
    def fresh(text):
        return "".join(list(text))

    samples = [
        ("empty", ""),
        ("one_ascii", "a"),
        ("one_latin1", "\xe9"),
        ("ascii", fresh("hello, world")),
        ("ascii_nul", fresh("x\x00y")),
        ("latin1", fresh("caf\xe9 cr\xe8me br\xfbl\xe9e \xff")),
        ("bmp", fresh("\u041f\u0440\u0438\u0432\u0435\u0442 \u65e5\u672c\u8a9e")),
        ("astral", fresh("emoji \U0001f600 and \U0010ffff")),
        ("lone_surrogate", fresh("\ud800")),
        ("surrogate_pair_units", fresh("a\ud83d\ude00b")),
        ("surrogate_in_ucs4", fresh("\udfff\U0001f40d")),
        ("long_ascii", fresh("0123456789abcdef" * 100)),
        ("long_bmp", fresh("\u0430\u0431\u0432\u0433" * 150)),
        ("long_astral", fresh("\U0001f600x" * 60)),
    ]
    keep = [s for _, s in samples]  # the objects must stay alive while dumped
    records = [string_record(label, s) for label, s in samples]

    subclassed = [
        ("subclass_ascii", StrSubclass("legacy ascii")),
        ("subclass_latin1", StrSubclass("l\xe9gacy")),
        ("subclass_bmp", StrSubclass("\u041b\u0435\u0433\u0430\u0441\u0438")),
        ("subclass_astral", StrSubclass("\U0001f600 legacy")),
        ("subclass_surrogate", StrSubclass("x\udc80y")),
        ("subclass_empty", StrSubclass("")),
    ]
    keep.extend(s for _, s in subclassed)
    for label, s in subclassed:
        if state_of(s)[1]:
            sys.exit("%s: str subclass instance is compact; expected legacy" % label)
        records.append(string_record(label, s))

    for label, text in [("from_unicode_ascii", "wide ascii"),
                        ("from_unicode_latin1", "wid\xe9"),
                        ("from_unicode_bmp", "\u0448\u0438\u0440"),
                        ("from_unicode_astral", "\U0001f600w")]:
        s = legacy_from_unicode(text)
        if s is None or state_of(s)[1]:
            continue  # 3.12+: the API is gone
        keep.append(s)
        records.append(string_record(label, s))

    raw = [("bytes_empty", b""), ("bytes_short", bytes(bytearray(b"abc"))),
           ("bytes_all", bytes(range(256)))]
    keep.extend(b for _, b in raw)
    records.extend(bytes_record(label, b) for label, b in raw)

    header = ["# str and bytes objects dumped from a live %s" % sys.version.replace("\n", " "),
              "# by scripts/record_decoder_data.py. object: the bytes at addr (header and",
              "# inline data); data: the separate buffer of a non-compact str.",
              "version 3.%d" % MINOR]
    with open(out_path, "w") as f:
        f.write("\n".join(header) + "\n")
        for rec in records:
            f.write("\n".join(rec) + "\n")
    legacy = sum(1 for r in records if any(x.startswith("data ") for x in r))
    print("%s: %d records, %d non-compact" % (out_path, len(records), legacy))
    del keep


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=os.path.join(REPO, "tests", "data"),
                        help="directory holding linetables/ and strings/")
    parser.add_argument("--child-no-debug-ranges", action="store_true",
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_no_debug_ranges:
        child_no_debug_ranges()
        return

    extra = []
    if MINOR >= 11:
        out = subprocess.run([sys.executable, "-X", "no_debug_ranges", os.path.abspath(__file__),
                              "--child-no-debug-ranges"],
                             check=True, stdout=subprocess.PIPE, universal_newlines=True).stdout
        rec = []
        for line in out.splitlines():
            rec.append(line)
            if line == "end":
                extra.append(rec)
                rec = []

    for sub in ("linetables", "strings"):
        os.makedirs(os.path.join(args.out, sub), exist_ok=True)
    record_line_tables(os.path.join(args.out, "linetables", "3.%d.txt" % MINOR), extra)
    record_strings(os.path.join(args.out, "strings", "3.%d.txt" % MINOR))


if __name__ == "__main__":
    main()
