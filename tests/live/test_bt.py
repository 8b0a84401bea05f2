#!/usr/bin/env python3
"""Live test: `pyattach -p PID --all-threads bt` against real targets.

Per interpreter x target, per thread:
  * native frames are numbered #0, #1, ... consecutively; the only other lines are
    Python File/source lines, `<built-in ...>`-style lines (4 spaces) and, right after
    the header, "(Python frames mapped to C frames by order)";
  * the File lines (4 spaces, source at 6) equal, in order, the File lines of
    `--all-threads py-bt` for the same thread, and the target's self-report;
  * every File line follows a _PyEval_EvalFrameDefault frame;
against gdb + python-gdb.py on the same process:
  * the native frame count is within +-30% of gdb's count of real (non-inlined)
    frames; gdb's `bt` also lists inlined frames, which pyattach cannot see without
    DWARF, so both numbers are shown;
  * the outermost symbol (e.g. _start, clone3) is the same;
  * the number of _PyEval_EvalFrameDefault frames is the same, and each runs the
    same Python frames as python-gdb.py's Frame.print_traceback() says it does;
and the target keeps running after every tool run.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402

COUNT_TOLERANCE = 0.30
BT_OTHER_PREFIXES = ("    <", "    Waiting for the GIL", "    Garbage-collecting",
                     "    (unable to read python frame information)")


def thread_label(thread):
    if thread is None:
        return "unknown thread"
    if thread["native"]:
        return "C thread LWP %d" % thread["native_id"]
    return "thread %r LWP %d" % (thread["name"], thread["native_id"])


class BtThread:
    """One thread of pyattach's bt output, parsed."""

    def __init__(self, lines):
        self.lines = lines
        self.frames = []        # [(number, symbol)]
        self.groups = []        # per native frame: [(file, line, func, source)]
        self.problems = []
        self.by_order_note = False
        self.orphans = []       # File lines not preceded by an eval frame
        for i, line in enumerate(lines):
            m = H.BT_FRAME_RE.match(line)
            if m:
                self.frames.append((int(m.group(1)), m.group(3)))
                self.groups.append([])
                continue
            if line == H.BY_ORDER_NOTE:
                if i != 0:
                    self.problems.append("line %d: %r allowed only right after the header" % (i, line))
                self.by_order_note = True
                continue
            f = H.BT_FILE_RE.match(line)
            if f:
                if not self.frames or self.frames[-1][1] != H.EVAL_SYMBOL:
                    self.orphans.append("%r follows %s" % (
                        line.strip(), ("frame #%d %s" % self.frames[-1]) if self.frames else "no frame"))
                if self.frames:
                    src = H.pybt_frames(lines[i:i + 2], H.BT_FILE_RE)[0]
                    self.groups[-1].append(src)
                continue
            if line.startswith("      ") and i > 0 and H.BT_FILE_RE.match(lines[i - 1]):
                continue  # source line of the File line above
            if line.startswith(BT_OTHER_PREFIXES):
                continue
            self.problems.append("unexpected line %d: %r" % (i, line))

    def python_frames(self):
        return [f for g in self.groups for f in g]

    def eval_groups(self):
        return [g for (n, sym), g in zip(self.frames, self.groups) if sym == H.EVAL_SYMBOL]


def gdb_eval_groups(frames):
    """python-gdb.py's Python frames per real _PyEval_EvalFrameDefault frame."""
    groups = []
    for f in frames:
        if f["name"] == H.EVAL_SYMBOL and not f["inline"]:
            lines = (f["python"] or "").splitlines()
            groups.append([(g[0], g[2]) for g in H.pybt_frames(lines)])
    return groups


def run_case(case, ctx, script):
    interp = case.interp
    with H.Target(interp, script, ctx.workdir) as target:
        threads = target.report["threads"]
        case.say("  target %s: pid %d, %d threads" % (target.name, target.pid, len(threads)))

        summary = None
        gdb_bt = {}
        if ctx.want_gdb(case, "gdb reference"):
            gdb = H.run_gdb(interp, target.pid, ["all-bt", "frames"], cwd=ctx.workdir)
            summary = H.gdb_frame_summary(gdb) if gdb.cmd.rc == 0 else None
            case.check("gdb ran", summary is not None,
                       gdb.cmd.describe() + "\n" + H.indent(gdb.cmd.stdout[-3000:], "  | "))
            problems = H.check_running(target)
            case.check("target running after gdb", not problems, "\n".join(problems))
            _, secs = H.parse_thread_sections(gdb.sections.get("all-bt", []))
            gdb_bt = {s.lwp: s.lines for s in secs}

        if not ctx.want_pyattach(case, "pyattach bt"):
            return

        r = H.run_pyattach(ctx.pyattach, target.pid, ["--all-threads", "bt"], cwd=ctx.workdir)
        ok = case.check("pyattach --all-threads bt exits 0", r.rc == 0 and not r.timed_out, r.describe())
        problems = H.check_running(target)
        case.check("target running after pyattach --all-threads bt", not problems, "\n".join(problems))
        if not ok:
            case.say("  NOT CHECKED: the output of pyattach --all-threads bt (it failed)")
            return
        pre, bt_sections = H.parse_thread_sections(r.stdout.splitlines())

        r2 = H.run_pyattach(ctx.pyattach, target.pid, ["--all-threads", "py-bt"], cwd=ctx.workdir)
        ok = case.check("pyattach --all-threads py-bt exits 0", r2.rc == 0 and not r2.timed_out, r2.describe())
        problems = H.check_running(target)
        case.check("target running after pyattach --all-threads py-bt", not problems, "\n".join(problems))
        if not ok:
            case.say("  NOT CHECKED: the output of pyattach --all-threads bt (py-bt, needed to compare, failed)")
            return
        _, pybt_sections = H.parse_thread_sections(r2.stdout.splitlines())
        pybt = {s.lwp: s for s in pybt_sections}

        stray = [l for l in pre if l.strip()]
        case.check("bt: nothing before the first thread header", not stray, "\n".join(stray))
        case.check("bt: same thread headers as py-bt",
                   [s.header for s in bt_sections] == [s.header for s in pybt_sections],
                   H.diff([s.header for s in pybt_sections], [s.header for s in bt_sections], "py-bt", "bt"))
        tids = target.tids()
        case.check("bt: one section per task", sorted(s.lwp for s in bt_sections) == tids,
                   "LWPs %s, tasks %s" % (sorted(s.lwp for s in bt_sections), tids))

        for sec in bt_sections:
            thread = target.thread(sec.lwp)
            label = thread_label(thread)
            bt = BtThread(sec.lines)
            text = H.indent("\n".join(sec.lines), "  | ")
            numbers = [n for n, _ in bt.frames]
            case.check("bt %s: frames numbered #0..#%d consecutively" % (label, len(numbers) - 1),
                       bool(numbers) and numbers == list(range(len(numbers))),
                       "frame numbers %s\n%s" % (numbers, text))
            case.check("bt %s: only frame, File, source and <...> lines" % label, not bt.problems,
                       "\n".join(bt.problems) + "\n" + text)
            case.check("bt %s: every File line follows a %s frame" % (label, H.EVAL_SYMBOL),
                       not bt.orphans, "\n".join(bt.orphans) + "\n" + text)
            if bt.by_order_note:
                case.say("  note  bt %s: Python frames mapped to C frames by order" % label)

            got = bt.python_frames()
            p = pybt.get(sec.lwp)
            if p is None:
                case.check("bt %s: thread present in py-bt" % label, False)
            else:
                want = H.pybt_frames(p.lines)
                d = H.compare_frames(got, want, "bt", "py-bt")
                if d and thread and thread["volatile"] and H.volatile_match(got, thread) \
                        and H.volatile_match(want, thread):
                    case.say("  note  %s moved between the bt and py-bt attaches; compared by function"
                             % label)
                    d = ""
                case.check("bt %s: File lines equal py-bt's" % label, not d, d)
            if thread is not None:
                d = H.compare_frames(got, H.expected_frames(thread), "bt", "self-report")
                if d and thread["volatile"] and H.volatile_match(got, thread):
                    case.say("  note  %s caught awake; compared loosely with the self-report" % label)
                    d = ""
                case.check("bt %s: File lines equal the self-report" % label, not d, d)

            if summary is None:
                continue
            gframes = summary.get(sec.lwp)
            if gframes is None:
                case.check("gdb has %s" % label, False)
                continue
            real = [f for f in gframes if not f["inline"]]
            gdb_text = H.indent("\n".join(gdb_bt.get(sec.lwp, [])), "  gdb | ")
            n, lo, hi = len(bt.frames), len(real) * (1 - COUNT_TOLERANCE), len(real) * (1 + COUNT_TOLERANCE)
            case.check("bt %s: %d native frames, gdb %d real + %d inlined (within +-30%% of %d)"
                       % (label, n, len(real), len(gframes) - len(real), len(real)),
                       lo <= n <= hi, text + "\n" + gdb_text)
            outer = bt.frames[-1][1] if bt.frames else None
            gouter = gframes[-1]["name"] if gframes else None
            tail = lambda ls: H.indent("\n".join([l for l in ls if H.BT_FRAME_RE.match(l)][-2:]), "  | ")
            case.check("bt %s: outermost symbol %s (gdb: %s)" % (label, outer, gouter), outer == gouter,
                       "pyattach:\n%s\ngdb:\n%s" % (tail(sec.lines), tail(gdb_bt.get(sec.lwp, []))))
            g_groups = gdb_eval_groups(gframes)
            p_groups = [[(f[0], f[2]) for f in g] for g in bt.eval_groups()]
            case.check("bt %s: %d %s frames (gdb: %d)" % (label, len(p_groups), H.EVAL_SYMBOL, len(g_groups)),
                       len(p_groups) == len(g_groups), text + "\n" + gdb_text)
            fmt = lambda gs: ["eval frame %d: %s" % (i, ", ".join("%s:%s" % (os.path.basename(f), fn)
                                                                   for f, fn in g))
                              for i, g in enumerate(gs)]
            same = p_groups == g_groups
            if not same and thread and thread["volatile"]:
                same = [fn for g in p_groups for _, fn in g][1:] == [fn for g in g_groups for _, fn in g][1:]
                if same:
                    case.say("  note  %s moved between attaches; grouping compared loosely" % label)
            case.check("bt %s: Python frames per eval frame as python-gdb.py groups them" % label, same,
                       H.diff(fmt(g_groups), fmt(p_groups), "python-gdb.py", "pyattach bt"))


def make_cases(ctx):
    cases = []
    for interp in ctx.interpreters:
        for script in H.target_scripts():
            name = "bt/%s/%s" % (interp.label, os.path.splitext(script)[0])
            cases.append(H.Case(name, interp, lambda c, s=script: run_case(c, ctx, s),
                                H.target_keywords(script)))
    return cases


if __name__ == "__main__":
    sys.exit(H.main(__doc__.splitlines()[0], make_cases))
