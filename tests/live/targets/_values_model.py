"""Self-report of values for the live tests (stdlib only, CPython 3.8-3.13).

A target calls record(tag) from its innermost frame just before it blocks; record()
walks that thread's frames and, per frame, per variable python-gdb.py can show
(co_varnames, in order), stores:

  repr    repr() of the value, as the target itself sees it (cut at 4000 chars);
  id      hex(id(value)), for `p (PyObject*)0x...`;
  expect  what pyattach must print for it (the "right" rendering, see below);
  gdb     what python-gdb.py prints for it, as far as this model knows, plus
  rules   the names of the known python-gdb.py mistakes that make `gdb` differ
          from `expect` for this value (empty when the two are the same).

`expect` follows python-gdb.py's pretty-printer (PyObjectPtr.write_repr with
the 1024-character cut, `<T at remote 0x...>` for types it has no printer for,
`<Class(attr=...) at remote 0x...>` for instances) except where python-gdb.py is
wrong about the value; there it is what repr() in the target says.  The mistakes,
each a separate rule so that the test can name which one explains a difference:

  float         python-gdb.py has no float printer: `<float at remote 0x...>`
                where repr() says 2.5 (also complex, bytearray: `opaque`).
  opaque        complex and bytearray print as `<complex at remote 0x...>`,
                where repr() is (1+2j) / bytearray(b'...').
  visited       python-gdb.py never forgets a visited container, so the second
                reference to the same list/dict/instance prints as [...] / {...}
                / <...> although it is no cycle (repr() prints it again); in a
                frame line (py-bt-full, py-up) the set is shared by all locals.
  exc_args      exceptions print as Name + repr(args) with Python 2's
                one-tuple comma: ValueError('msg',); repr() is ValueError('msg').
  unicode       python-gdb.py decides which characters are printable with gdb's
                own Python (its Unicode database), not the target's.
  printable_category
                3.8-3.10: python-gdb.py's _unichr_is_printable() compares the
                two-letter Unicode category with "C" and "Z", so every non-ASCII
                character counts as printable and is printed raw (U+00A0,
                U+200B, U+2028...); only what gdb cannot encode is escaped.
  del_3_8       3.8: python-gdb.py tests `ch == 0x7F` (a str against an int), so
                DEL is not escaped but printed raw.
  no_inline_values
                3.13: for an instance whose type has a managed dict but no
                inline values (e.g. __slots__ with "__dict__") and no dict yet,
                python-gdb.py reads inline values that are not there and prints
                garbage attributes (<T(extra=<unknown at remote 0x4e2d>) ...>).
  split_order   3.11+: an instance's attributes in split-table (shared-key) form
                are listed in the class's key order, not in insertion order.
  limit1000     python-gdb.py reads at most 1000 characters of a str (bytes: 1000
                bytes; list, tuple: 1000 items) and then closes the quote or
                bracket as if that were all, without "...(truncated)": a 2000
                character string prints as a complete 1000-character one.
  frame_recursion
                a frame object among its own frame's locals is printed again
                inside itself until the 1024-character cut (no visited check);
                pyattach prints <...> for it, like any other cycle.

Objects are never asked for their __dict__ unless the target already made one
(instances keep 3.11+'s inline values); attribute order comes from build().
"""

import ctypes
import dataclasses
import os
import sys
import threading
import types

TARGETS_DIR = os.path.dirname(os.path.abspath(__file__))
MAX_OUTPUT_LEN = 1024
FRAME_ADDR_3_11 = "0xffffffffffff"   # stands for a 3.11+ interpreter frame's address
REPR_CUT = 4000
V = sys.version_info[:2]

Py_TPFLAGS_HEAPTYPE = 1 << 9
Py_TPFLAGS_LONG_SUBCLASS = 1 << 24
Py_TPFLAGS_LIST_SUBCLASS = 1 << 25
Py_TPFLAGS_TUPLE_SUBCLASS = 1 << 26
Py_TPFLAGS_BYTES_SUBCLASS = 1 << 27
Py_TPFLAGS_UNICODE_SUBCLASS = 1 << 28
Py_TPFLAGS_DICT_SUBCLASS = 1 << 29
Py_TPFLAGS_BASE_EXC_SUBCLASS = 1 << 30

ALL_RULES = ("float", "opaque", "visited", "exc_args", "unicode", "printable_category", "del_3_8",
             "split_order", "frame_recursion", "limit1000", "no_inline_values")
ANY = "\x00ANY\x00"   # in a python-gdb.py rendering: unpredictable text (garbage read)

# Characters whose printability depends on the Unicode version (added in
# Unicode 13.0 or later); gdb's Python knows them iff its database is that new.
UNICODE_ADDED = {0x1FAD0: (13, 0), 0x1FAE0: (14, 0), 0x1FAE8: (15, 0), 0x2FFC: (15, 1)}


def _gdb_unidata():
    v = os.environ.get("PYATTACH_GDB_UNIDATA", "")
    try:
        return tuple(int(x) for x in v.split(".")[:2])
    except ValueError:
        return None


GDB_UNIDATA = _gdb_unidata()

# Attribute insertion order per instance (id -> [names]), and the shared-key order
# per class (3.11+): the order in which names were first set on any instance.
_ATTR_ORDER = {}
_CLASS_KEYS = {}
_KEEP = []          # keeps registered objects alive, so ids stay unique


def build(cls, *names_values, materialize=False):
    """cls.__new__(cls), then setattr each (name, value) in order."""
    obj = cls.__new__(cls)
    for name, value in names_values:
        setattr(obj, name, value)
    note(obj, [n for n, _ in names_values])
    if materialize:
        vars(obj)
    return obj


def note(obj, names):
    _ATTR_ORDER[id(obj)] = list(names)
    _KEEP.append(obj)
    keys = _CLASS_KEYS.setdefault(type(obj), [])
    for n in names:
        if n not in keys:
            keys.append(n)


def tp_name(t):
    # PyTypeObject.tp_name follows PyObject_VAR_HEAD (3 words) on 64-bit builds.
    return ctypes.c_char_p.from_address(id(t) + 3 * ctypes.sizeof(ctypes.c_void_p)).value.decode()


class _Cut(Exception):
    pass


class _Out:
    def __init__(self, maxlen):
        self.parts = []
        self.n = 0
        self.maxlen = maxlen

    def write(self, s):
        if self.maxlen and self.n + len(s) > self.maxlen:
            self.parts.append(s[:self.maxlen - self.n])
            self.n = self.maxlen
            raise _Cut()
        self.parts.append(s)
        self.n += len(s)


class Renderer:
    """One rendering of one value (or frame line) under a set of rules."""

    def __init__(self, rules=()):
        self.rules = frozenset(rules)
        self.used = set()         # rules that changed something
        self.visited = set()

    # -- containment (Py_ReprEnter semantics, or python-gdb.py's never-forget set)
    def enter(self, obj):
        if id(obj) in self.visited:
            return False
        self.visited.add(id(obj))
        return True

    def leave(self, obj):
        if "visited" not in self.rules:
            self.visited.discard(id(obj))

    def seen_elsewhere(self, obj, stack):
        return id(obj) in self.visited and id(obj) not in stack

    def write(self, obj, out, stack=()):
        t = type(obj)
        name = tp_name(t)
        flags = t.__flags__
        addr = "0x%x" % id(obj)
        if name == "bool":
            out.write("True" if obj else "False")
        elif name == "NoneType":
            out.write("None")
        elif name == "frame":
            self.write_frame_object(obj, out, stack)
        elif name in ("set", "frozenset"):
            self.write_set(obj, name, out, stack)
        elif name == "builtin_function_or_method":
            m_self = obj.__self__
            if m_self is None:
                out.write("<built-in function %s>" % obj.__name__)
            else:
                out.write("<built-in method %s of %s object at remote 0x%x>"
                          % (obj.__name__, tp_name(type(m_self)), id(m_self)))
        elif name == "method-wrapper":
            out.write("<method-wrapper %r of %s object at %#x>"
                      % (obj.__name__, tp_name(type(obj.__self__)), id(obj.__self__)))
        elif flags & Py_TPFLAGS_HEAPTYPE:
            self.write_instance(obj, name, out, stack)
        elif flags & Py_TPFLAGS_LONG_SUBCLASS:
            out.write("%d" % int.__index__(obj))
        elif flags & Py_TPFLAGS_LIST_SUBCLASS:
            self.write_seq(obj, "[", "]", "[...]", out, stack)
        elif flags & Py_TPFLAGS_TUPLE_SUBCLASS:
            self.write_seq(obj, "(", ",)" if len(obj) == 1 else ")", "(...)", out, stack)
        elif flags & Py_TPFLAGS_BYTES_SUBCLASS:
            out.write(bytes.__repr__(self.limit(obj)))
        elif flags & Py_TPFLAGS_UNICODE_SUBCLASS:
            out.write(self.str_repr(self.limit(obj)))
        elif flags & Py_TPFLAGS_DICT_SUBCLASS:
            self.write_dict(obj, dict.items(obj), out, stack)
        elif flags & Py_TPFLAGS_BASE_EXC_SUBCLASS:
            self.write_exception(obj, name, out, stack)
        elif name == "float":
            if "float" in self.rules:
                self.used.add("float")
                out.write("<float at remote %s>" % addr)
            else:
                out.write(float.__repr__(obj))
        elif name in ("complex", "bytearray"):
            if "opaque" in self.rules:
                self.used.add("opaque")
                out.write("<%s at remote %s>" % (name, addr))
            else:
                out.write(t.__repr__(obj))
        else:
            out.write("<%s at remote %s>" % (name, addr))

    def limit(self, seq):
        if "limit1000" in self.rules and len(seq) > 1000:
            self.used.add("limit1000")
            return seq[:1000]
        return seq

    def str_repr(self, s):
        r = str.__repr__(s)
        raw_del = False
        if V < (3, 11) and "printable_category" in self.rules:
            printable = lambda ch: not 0xD800 <= ord(ch) <= 0xDFFF  # noqa: E731
            rule = "printable_category"
            raw_del = V == (3, 8) and "del_3_8" in self.rules
        elif V >= (3, 11) and "unicode" in self.rules and GDB_UNIDATA is not None:
            def printable(ch):
                added = UNICODE_ADDED.get(ord(ch))
                return ch.isprintable() if added is None else added <= GDB_UNIDATA
            rule = "unicode"
        else:
            return r
        g = gdb_str_repr(s, printable)
        if raw_del and "\x7f" in s:
            self.used.add("del_3_8")
            g = gdb_str_repr(s.replace("\x7f", "\x00DEL\x00"), printable).replace("\\x00DEL\\x00", "\x7f")
        if g != r:
            self.used.add(rule)
        return g

    def write_seq(self, obj, opening, closing, cycle, out, stack):
        if not self.enter(obj):
            if id(obj) not in stack:
                self.used.add("visited")
            out.write(cycle)
            return
        out.write(opening)
        for i, item in enumerate(self.limit(tuple(obj))):
            if i:
                out.write(", ")
            self.write(item, out, stack + (id(obj),))
        out.write(closing)
        self.leave(obj)

    def write_set(self, obj, name, out, stack):
        if not self.enter(obj):
            if id(obj) not in stack:
                self.used.add("visited")
            out.write("(...)")
            return
        if not len(obj):
            out.write(name + "()")
        else:
            if name != "set":
                out.write(name + "(")
            out.write("{")
            for i, item in enumerate(obj):
                if i:
                    out.write(", ")
                self.write(item, out, stack + (id(obj),))
            out.write("}")
            if name != "set":
                out.write(")")
        self.leave(obj)

    def write_dict(self, obj, items, out, stack):
        if not self.enter(obj):
            if id(obj) not in stack:
                self.used.add("visited")
            out.write("{...}")
            return
        out.write("{")
        for i, (k, v) in enumerate(items):
            if i:
                out.write(", ")
            self.write(k, out, stack + (id(obj),))
            out.write(": ")
            self.write(v, out, stack + (id(obj),))
        out.write("}")
        self.leave(obj)

    def write_exception(self, obj, name, out, stack):
        if not self.enter(obj):
            if id(obj) not in stack:
                self.used.add("visited")
            out.write("(...)")
            return
        args = obj.args
        out.write(name)
        if "exc_args" in self.rules:
            if len(args) == 1:
                self.used.add("exc_args")
            self.write(args, out, stack + (id(obj),))
        else:
            # BaseException.__repr__: Name(arg) for one argument, Name(args...) otherwise.
            out.write("(")
            for i, a in enumerate(args):
                if i:
                    out.write(", ")
                self.write(a, out, stack + (id(obj),))
            out.write(")")
        self.leave(obj)

    def instance_attrs(self, obj):
        """(names in the order to print, values) or None if python-gdb.py sees no dict."""
        t = type(obj)
        known = _ATTR_ORDER.get(id(obj))
        if known is None and dataclasses.is_dataclass(t) and not isinstance(obj, type):
            known = [f.name for f in dataclasses.fields(obj)]
        if known is not None:
            names = [n for n in known if _has_attr(obj, n) and not _is_slot(t, n)]
            if "split_order" in self.rules and V >= (3, 11) and _is_split(obj):
                keys = _CLASS_KEYS.get(t, [])
                ordered = [n for n in keys if n in names] + [n for n in names if n not in keys]
                if ordered != names:
                    self.used.add("split_order")
                names = ordered
            return [(n, object.__getattribute__(obj, n)) for n in names]
        if isinstance(obj, type):
            return list(obj.__dict__.items())
        if not t.__dictoffset__:
            return None
        d = obj.__dict__
        return list(d.items())

    def write_instance(self, obj, name, out, stack):
        if not self.enter(obj):
            if id(obj) not in stack:
                self.used.add("visited")
            out.write("<...>")
            return
        out.write("<" + name)
        attrs = self.instance_attrs(obj)
        flags = type(obj).__flags__
        if ("no_inline_values" in self.rules and V >= (3, 13) and flags & (1 << 4)
                and not flags & (1 << 2) and not attrs):
            self.used.add("no_inline_values")
            out.write("(" + ANY + ")")
        elif attrs is not None and _shows_parens(obj):
            out.write("(")
            for i, (k, v) in enumerate(attrs):
                if i:
                    out.write(", ")
                out.write(k)
                out.write("=")
                self.write(v, out, stack + (id(obj),))
            out.write(")")
        out.write(" at remote 0x%x>" % id(obj))
        self.leave(obj)

    def write_frame_object(self, frame, out, stack):
        # python-gdb.py prints a frame object like a py-bt-full line, without the
        # "#N " prefix.  3.8-3.10 print the frame object's address; 3.11+ the
        # interpreter frame's, unknown here: FRAME_ADDR_3_11 (as long as a real
        # one, so that the 1024-character cut falls at the same place).
        if "frame_recursion" in self.rules:
            if id(frame) in stack:
                self.used.add("frame_recursion")
        elif not self.enter(frame):
            out.write("<...>")
            return
        code = frame.f_code
        addr = "0x%x" % id(frame) if V < (3, 11) else FRAME_ADDR_3_11
        out.write("Frame %s, for file %s, line %d, in %s (" % (
            addr, code.co_filename, frame.f_lineno, code.co_name))
        for i, (n, v) in enumerate(frame_locals(frame)):
            if i:
                out.write(", ")
            out.write(n)
            out.write("=")
            self.write(v, out, stack + (id(frame),))
        out.write(")")
        if "frame_recursion" not in self.rules:
            self.leave(frame)


def gdb_str_repr(s, printable):
    """python-gdb.py's PyUnicodeObjectPtr.write_repr with its printability test."""
    quote = '"' if "'" in s and '"' not in s else "'"
    out = [quote]
    for ch in s:
        o = ord(ch)
        if ch == quote or ch == "\\":
            out.append("\\" + ch)
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif o < 0x20 or o == 0x7F:
            out.append("\\x%02x" % o)
        elif o < 0x7F:
            out.append(ch)
        elif printable(ch):
            out.append(ch)
        elif o <= 0xFF:
            out.append("\\x%02x" % o)
        elif o >= 0x10000:
            out.append("\\U%08x" % o)
        else:
            out.append("\\u%04x" % o)
    out.append(quote)
    return "".join(out)


def _is_slot(cls, name):
    return isinstance(getattr(cls, name, None), types.MemberDescriptorType)


def _has_attr(obj, name):
    try:
        object.__getattribute__(obj, name)
        return True
    except AttributeError:
        return False


def _is_split(obj):
    # 3.11+: instances of plain classes keep shared-key (split) values unless
    # the dict had to be combined (more keys than the shared table holds).
    keys = _CLASS_KEYS.get(type(obj), [])
    return 0 < len(keys) <= 30 and "__slots__" not in type(obj).__dict__


def _shows_parens(obj):
    """Does python-gdb.py find an attribute dict (or 3.11+ values) to print?"""
    t = type(obj)
    if not t.__dictoffset__:
        return False
    if V >= (3, 11):
        return True
    # 3.8-3.10: the dict exists once an attribute was set or __dict__ was read.
    known = _ATTR_ORDER.get(id(obj))
    return known is None or any(not _is_slot(t, n) for n in known)


def frame_locals(frame):
    """(name, value) pairs python-gdb.py's iter_locals() yields: co_varnames in
    order, bound ones only (3.8-3.10: a captured argument lives in its cell and
    its slot is empty; 3.11+: the slot holds the cell)."""
    code = frame.f_code
    loc = frame.f_locals
    out = []
    for n in code.co_varnames:
        if n in code.co_cellvars:
            continue        # reported separately (kind "cell-arg")
        if n in loc:
            out.append((n, loc[n]))
    return out


def render(obj, rules=(), maxlen=MAX_OUTPUT_LEN):
    """(text, rules that changed it)."""
    r = Renderer(rules)
    out = _Out(maxlen)
    try:
        r.write(obj, out)
    except _Cut:
        return "".join(out.parts) + "...(truncated)", r.used
    return "".join(out.parts), r.used


def render_frame_locals(pairs, frame, rules=()):
    """The "a=..., b=..." part of a frame line: each local rendered on its own
    with `frame` (the frame object of that frame) counted as visited, or under
    the python-gdb.py rules with one set shared by all locals.  Cut at 4096."""
    r = Renderer(rules)
    out = _Out(4096)
    try:
        for i, (n, v) in enumerate(pairs):
            if i:
                out.write(", ")
            out.write(n + "=")
            if "visited" not in r.rules:
                r.visited = {id(frame)}
            r.write(v, out, () if "frame_recursion" not in r.rules else (id(frame),))
    except _Cut:
        pass
    return "".join(out.parts), r.used


def _safe_repr(obj):
    try:
        r = repr(obj)
    except Exception as e:  # e.g. int too large for str
        r = "<repr failed: %r>" % (e,)
    return r if len(r) <= REPR_CUT else r[:REPR_CUT] + "...(cut)"


def describe(name, value, kind):
    expect, _ = render(value)
    entry = {"name": name, "kind": kind, "type": tp_name(type(value)), "id": "0x%x" % id(value),
             "repr": _safe_repr(value), "expect": expect, "gdb": expect, "rules": []}
    variants = render(value, ALL_RULES)
    if variants[0] != expect:
        entry["gdb"] = variants[0]
        entry["rules"] = sorted(variants[1])
    entry["frame_locals_text"] = None
    return entry


# -- recording -----------------------------------------------------------------

RECORDS = {}          # thread name -> [frame entries], innermost first
_lock = threading.Lock()
_recorded = threading.Condition(_lock)


def record_frames(first_frame):
    frames = []
    f = first_frame
    while f is not None:
        code = f.f_code
        if os.path.dirname(os.path.abspath(code.co_filename)) != TARGETS_DIR:
            # Not ours (threading.py): its locals are compared with gdb only, and
            # are not touched here (no __dict__ materialized).
            frames.append({"func": code.co_name, "file": code.co_filename, "line": f.f_lineno,
                           "own": False})
            f = f.f_back
            continue
        loc = f.f_locals
        entries = []
        cell_args = []
        for n in code.co_varnames:
            if n not in loc:
                continue
            kind = "local"
            if n in code.co_cellvars:
                kind = "cell-arg"
                cell_args.append(n)
            entries.append(describe(n, loc[n], kind))
        cells = [n for n in code.co_cellvars if n not in code.co_varnames and n in loc]
        cell_ids = {}
        for n in cell_args + cells:
            for v in list(loc.values()):
                if isinstance(v, types.FunctionType) and v.__closure__ and n in v.__code__.co_freevars:
                    cell_ids[n] = "0x%x" % id(v.__closure__[v.__code__.co_freevars.index(n)])
        pairs = [(e["name"], loc[e["name"]]) for e in entries if e["kind"] == "local"]
        text, _ = render_frame_locals(pairs, f)
        gdb_text, used = render_frame_locals(pairs, f, ALL_RULES)
        frames.append({
            "func": code.co_name, "file": code.co_filename, "line": f.f_lineno,
            "firstlineno": code.co_firstlineno,
            "locals": entries, "cell_args": cell_args, "cell_ids": cell_ids,
            "cells": {n: _safe_repr(loc[n]) for n in cells},
            "frees": {n: _safe_repr(loc[n]) for n in code.co_freevars if n in loc},
            "frame_locals": text, "frame_locals_gdb": gdb_text, "frame_locals_rules": sorted(used),
            "module_frame": code.co_name == "<module>", "own": True,
        })
        f = f.f_back
    return frames


def record(tag):
    """Records the calling thread's frames under `tag` (call it right before blocking)."""
    frames = record_frames(sys._getframe(1))
    with _recorded:
        RECORDS[tag] = {"native_id": threading.get_native_id(), "frames": frames}
        _recorded.notify_all()


def wait_for(tags, timeout=30):
    with _recorded:
        return _recorded.wait_for(lambda: all(t in RECORDS for t in tags), timeout)


def write_report(path, extra):
    import json
    data = {"version": list(V), "gdb_unidata": GDB_UNIDATA, "threads": RECORDS}
    data.update(extra)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(data, f, indent=1, ensure_ascii=True)
    os.replace(tmp, path)
