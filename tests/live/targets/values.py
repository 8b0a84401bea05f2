"""Values: threads blocked at known depths in frames whose locals hold every
builtin type (ints, floats, strings with escapes and non-ASCII, bytes,
containers, cycles, shared references, instances in every attribute layout,
classes, modules, functions, exceptions, generators, code and frame objects).

Besides the usual self-report, writes READY_FILE + ".values.json" (see
_values_model.py): per thread, per frame, per local its repr(), hex(id()), and
what pyattach must print for it; plus the module globals.
"""
# SCENARIOS: values locals py-print py-locals objects containers strings
import collections
import dataclasses
import enum
import json
import sys
import threading
import time

import _common
import _values_model as M

G_INT = 7
G_STR = "module global"
G_LIST = [1, "two", 3.5]
G_NONE = None
G_SHADOWED = "global value"


class Plain:
    pass


class Point:
    pass


class Slotted:
    __slots__ = ("a", "b")


class SlotsAndDict:
    __slots__ = ("a", "__dict__")


class ManyAttrs:
    pass


class Empty:
    pass


@dataclasses.dataclass
class DataPoint:
    x: int
    y: str = "why"


class WithRepr:
    def __repr__(self):
        return "WithRepr(custom repr)"


class Color(enum.IntEnum):
    RED = 1


class Holder:
    def method(self, depth):
        holder_local = "in a method"
        objects_middle(depth + 1)


# -- thread "scalars": scalars_outer -> scalars_middle -> scalars_inner


def scalars_outer():
    small = 1
    big = 2 ** 100
    negative = -5
    zero = 0
    neg_big = -(2 ** 70)
    huge = 7 ** 2000
    yes = True
    no = False
    nothing = None
    scalars_middle(small + 1)


def scalars_middle(level):
    f_half = 2.5
    f_tenth = 0.1
    f_big = 1e100
    f_inf = float("inf")
    f_nan = float("nan")
    f_negzero = -0.0
    f_neg = -1.25e-7
    cplx = 1 + 2j
    cplx_odd = complex(-0.0, float("inf"))
    scalars_inner(level + 1)


def scalars_inner(depth):
    s_ascii = "hello"
    s_empty = ""
    s_quote1 = "it's"
    s_quote2 = 'say "hi"'
    s_both = "both ' and \""
    s_escapes = "tab\tnl\ncr\r back\\slash bell\x07 del\x7f"
    s_latin = "caf\xe9"
    s_cjk = "\u4e2d\u6587"
    s_emoji = "\U0001f600"
    s_surrogate = "\ud800"
    s_nonprint = "nbsp\xa0 zwsp\u200b ls\u2028"
    s_new_unicode = "\U0001fad0 \U0001fae0 \U0001fae8 \u2ffc"
    s_long = "0123456789" * 200
    s_long_unicode = "\xe9\u4e2d" * 700
    b_plain = b"abc"
    b_bytes = b"\x00\x01 \x7f\x80\xff 'q' \\ \t\n"
    b_quote = b"it's"
    b_empty = b""
    b_long = b"0123456789" * 150
    ba = bytearray(b"\x00ab\xff")
    M.record("scalars")
    time.sleep(1e6)  # BLOCK


# -- thread "containers": containers_outer -> containers_inner


def containers_outer():
    lst = [1, "a", None]
    empty_list = []
    tpl = (1, "a")
    empty_tuple = ()
    one_tuple = (1,)
    nested = [(1, [2, {3: "x"}]), {"k": [4, 5]}]
    shared = [1, 2]
    twice = [shared, shared]
    shared_dict = {"s": shared, "t": shared}
    big_list = list(range(1000))
    containers_inner(len(lst))


def containers_inner(n):
    small_dict = {"a": 1, "b": 2}
    int_keys = {1: "one", 2: "two", -3: "minus three"}
    big_dict = {i: i * i for i in range(300)}
    nested_dict = {"outer": {"inner": {"deep": [1, 2]}}}
    deleted = {"keep1": 1, "gone": 2, "keep2": 3}
    del deleted["gone"]
    st = {1, 2, 3}
    fs = frozenset({"a"})
    empty_set = set()
    empty_fs = frozenset()
    self_list = [1]
    self_list.append(self_list)
    self_dict = {"k": 1}
    self_dict["self"] = self_dict
    mutual_a = []
    mutual_b = [mutual_a]
    mutual_a.append(mutual_b)
    tuple_cycle = ([],)
    tuple_cycle[0].append(tuple_cycle)
    od = collections.OrderedDict(a=1, b=2)
    dd = collections.defaultdict(list, {"k": [1]})
    M.record("containers")
    time.sleep(1e6)  # BLOCK


# -- thread "objects": objects_outer -> Holder.method -> objects_middle
#    -> objects_gen (a generator frame) -> objects_inner


def objects_outer():
    cls = Plain
    mod = json
    func = objects_outer
    lam = lambda x: x  # noqa: E731
    holder = Holder()
    bound = holder.method
    builtin = len
    builtin_method = [].append
    method_wrapper = (1).__add__
    exc = ValueError("msg")
    exc_key = KeyError("k")
    exc_empty = RuntimeError()
    exc_two = OSError(2, "not found")
    gen_obj = objects_gen()
    code = objects_outer.__code__
    rng = range(3)
    rng_step = range(0, 10, 2)
    this_frame = sys._getframe()
    holder.method(0)


def objects_middle(captured_arg):
    captured_local = [captured_arg]

    def closure():
        return captured_arg, captured_local

    for _ in objects_gen():
        pass


def objects_gen():
    gen_local = "in a generator"
    objects_inner()
    yield gen_local


def objects_inner():
    plain = M.build(Plain, ("a", 1), ("b", "x"))
    p1 = M.build(Point, ("x", 1), ("y", 2))
    p2 = M.build(Point, ("y", 3), ("x", 4))
    p3 = M.build(Point, ("x", 5), ("y", 6), materialize=True)
    slotted = M.build(Slotted, ("a", 1), ("b", 2))
    slotted_partial = M.build(Slotted, ("a", 1))
    slots_dict = M.build(SlotsAndDict, ("a", 1))
    slots_dict2 = M.build(SlotsAndDict, ("a", 1))
    slots_dict2.extra = 2
    M.note(slots_dict2, ["extra"])
    many = M.build(ManyAttrs, *[("a%d" % i, i) for i in range(40)])
    empty = M.build(Empty)
    dc = DataPoint(1)
    custom = M.build(WithRepr, ("v", 1))
    color = Color.RED
    me = M.build(Plain, ("name", "me"))
    me.me = me
    M.note(me, ["name", "me"])
    M.record("objects")
    time.sleep(1e6)  # BLOCK


# -- main thread: main_outer -> main_inner


def main_outer():
    G_SHADOWED = "local value"  # noqa: F841 (py-print must find the local first)
    main_list = [G_INT, G_STR]
    main_inner(G_SHADOWED, main_list)


def main_inner(arg, lst):
    main_local = {"arg": arg}
    M.record("main")
    if not M.wait_for(["scalars", "containers", "objects", "main"]):
        sys.exit("values: threads did not record their frames")
    M.write_report(sys.argv[1] + ".values.json", {
        "globals": [M.describe(n, globals()[n], "global")
                    for n in ("G_INT", "G_STR", "G_LIST", "G_NONE", "G_SHADOWED")],
    })
    time.sleep(1e6)  # BLOCK


if __name__ == "__main__":
    _common.start([
        ("scalars", scalars_outer),
        ("containers", containers_outer),
        ("objects", objects_outer),
    ])
    main_outer()
