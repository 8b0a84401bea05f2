#!/usr/bin/env python3
"""Live test: every offsets source prints exactly what DWARF prints.

For each interpreter (3.8-3.13, which all carry DWARF) and two targets
(values.py: every kind of value; sync_primitives.py: threads blocked in every
primitive, with <built-in method ...> lines), on the same process:
`--all-threads py-bt`, `thread apply all py-locals` and a few `py-print`s with
`--offsets-from table` (and `debug-offsets` on 3.13) must print exactly what
`--offsets-from dwarf` prints (the heartbeat thread, which moves between runs,
is left out), and `info target` must name the source used. The built-in table
is also checked field by field against each interpreter's DWARF by the unit test
"the built-in table equals DWARF for every installed interpreter".
"""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402
import test_stripped as S  # noqa: E402  (thread-keyed comparison helpers)

TARGETS = ("values.py", "sync_primitives.py")


def sources_for(interp):
    return ["table", "debug-offsets"] if interp.minor >= 13 else ["table"]


def observe(case, ctx, target, script, source):
    seen = {}
    flag = ["--offsets-from", source]
    what = "--offsets-from %s" % source
    out = S.run(case, ctx, target, flag + ["info", "target"], "%s info target" % what)
    if out is not None:
        case.check("%s: info target says offsets from %s" % (what, source),
                   re.search(r"^Offsets from: %s\b" % re.escape(source), out, re.M) is not None, out)
    out = S.run(case, ctx, target, flag + ["--all-threads", "py-bt"], "%s --all-threads py-bt" % what)
    if out is not None:
        seen["py-bt"] = S.comparable(target, out, masked=False)
    out = S.run(case, ctx, target, flag + ["-ex", "thread apply all py-locals"],
                "%s thread apply all py-locals" % what)
    if out is not None:
        seen["py-locals"] = S.comparable(target, out, masked=False)
    if script == "values.py":
        args = list(flag)
        for name in S.VALUES_PRINTS:
            args += ["-ex", "py-print %s" % name]
        out = S.run(case, ctx, target, args, "%s py-print ..." % what)
        if out is not None:
            seen["py-print"] = out.splitlines()
    return seen


def run_case(case, ctx):
    if not ctx.want_pyattach(case, "offsets sources"):
        return
    for script in TARGETS:
        with H.Target(case.interp, script, ctx.workdir) as target:
            case.say("  target %s: pid %d" % (script, target.pid))
            ref = observe(case, ctx, target, script, "dwarf")
            for source in sources_for(case.interp):
                got = observe(case, ctx, target, script, source)
                for what in ("py-bt", "py-locals", "py-print"):
                    if what not in ref or what not in got:
                        continue
                    w, g = ref[what], got[what]
                    if isinstance(w, dict):
                        keys = sorted(k for k in set(w) | set(g) if w.get(k) is not None
                                      and g.get(k) is not None)
                        case.check("%s %s: the same threads as dwarf" % (source, what),
                                   sorted(w) == sorted(g), "%s vs %s" % (sorted(w), sorted(g)))
                        w = [l for k in keys for l in ["[%s]" % k] + ref[what][k]]
                        g = [l for k in keys for l in ["[%s]" % k] + got[what][k]]
                    case.check("--offsets-from %s %s prints exactly what dwarf prints" % (source, what),
                               w == g and len(w) > 0, H.diff(w, g, "dwarf", source))


def make_cases(ctx):
    return [H.Case("offsets_sources/%s" % i.label, i, lambda c: run_case(c, ctx),
                   keywords=("offsets",) + tuple(t[:-3] for t in TARGETS))
            for i in ctx.interpreters]


if __name__ == "__main__":
    sys.exit(H.main(__doc__.splitlines()[0], make_cases))
