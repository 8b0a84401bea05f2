#!/usr/bin/env python3
"""Live test: pyattach's gdb-style commands (-ex) vs gdb + python-gdb.py, and vs the target's own values.

Per interpreter, one targets/values.py process (threads blocked at known depths in
frames whose locals hold every builtin type; its ".values.json" self-report gives,
per local, repr(), hex(id()) and what pyattach must print, see
targets/_values_model.py).  One pyattach run (-ex ...) and one gdb batch run play
the same script of sections on that process:

  per thread (selected by LWP): `thread N`; py-bt; py-bt-full; py-list, py-list 1,
  py-list 3, 8; py-locals and py-print NAME (locals of every level, globals,
  builtins, a missing name) after 1..E py-ups; a walk of py-up x(E+1) then
  py-down x(E+2), past both ends; `frame N` on the first and last eval frames and
  py-bt / py-locals / py-list there;  then `info threads` (twice, the second after
  `thread N`), `thread apply all py-bt`, `t a a py-locals`, and
  `p (PyObject*)0xADDR` for objects the target reported.

Sections are cut out of each tool's output by markers (gdb: echo; pyattach:
`help detach`, whose text is fixed) and compared line by line, frame numbers
(#N) masked.  Where the lines differ, the self-report decides: pyattach must print
what the target says (`expect`), and gdb's line must be explained by named,
known python-gdb.py mistakes (`gdb` + `rules` in the self-report); anything else
fails.  pyattach's values are also checked against the self-report where gdb
agrees with pyattach.  Deliberate differences (see README): frame numbers (checked
against pyattach's own bt instead), floats, py-locals/py-print right after attach
(python-gdb.py needs a py-up first; compared with gdb after one), 3.8's lnotab.

Errors: unknown command, bad arguments: one line on stderr, nothing on stdout,
exit status 1, against gdb's message for the same command where gdb has one.
The same script through the /proc/PID/mem fallback prints the same.
"""

import json
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402

TARGET = "values.py"
SEP_CMD = "help detach"
GDB_BEGIN = "@@pyattach-cmd-begin %d@@"
GDB_END = "@@pyattach-cmd-end %d@@"
GDB_HELPERS = os.path.join(H.LIVE_DIR, "gdb_commands.py")
OWN_THREADS = ("main", "scalars", "containers", "objects")
MAX_OUTPUT_LEN = 1024
FRAME_ADDR_3_11 = "0xffffffffffff"
ANY = "\x00ANY\x00"

NEAREST_FRAME = ("deliberate difference (3): right after attach the selected frame is a C function "
                 "called from Python; python-gdb.py says 'Unable to read information on python "
                 "frame', pyattach uses the nearest Python frame (compared with gdb after one py-up)")
LNOTAB = H.LNOTAB_BUG
RULE_TEXT = {
    "float": "deliberate difference (2): python-gdb.py has no float printer (<float at remote 0x...>); "
             "pyattach prints repr()",
    "opaque": "python-gdb.py has no complex/bytearray printer (<complex at remote 0x...>); "
              "pyattach prints repr()",
    "visited": "python-gdb.py never forgets a visited container, so a second (non-cyclic) reference "
               "to the same object prints as [...]/{...}/<...>; repr() prints it again, as pyattach",
    "exc_args": "python-gdb.py prints an exception as Name + repr(args) with Python 2's one-tuple "
                "comma (ValueError('msg',)); repr() and pyattach: ValueError('msg')",
    "unicode": "python-gdb.py decides printability with gdb's own Python Unicode database, not the "
               "target's; pyattach follows the target's repr()",
    "printable_category": "3.8-3.10: python-gdb.py's _unichr_is_printable() compares the two-letter "
                          "Unicode category with 'C'/'Z', so every non-ASCII character counts as printable "
                          "and is printed raw ('nbsp\\xa0' prints a raw U+00A0); repr() and pyattach escape it",
    "del_3_8": "3.8: python-gdb.py compares a str with 0x7F, so DEL is printed raw instead of \\x7f",
    "no_inline_values": "3.13: python-gdb.py reads inline values for an instance whose type has a managed "
                        "dict but no inline values (__slots__ with '__dict__', no dict yet) and prints garbage "
                        "attributes; pyattach prints the (empty) dict",
    "limit1000": "python-gdb.py reads at most 1000 characters/bytes/items (safe_range) and closes the "
                 "literal as if that were all, without ...(truncated); pyattach cuts at 1024 characters "
                 "and says ...(truncated)",
    "split_order": "3.11+: python-gdb.py lists split-table (shared-key) instance attributes in the "
                   "class's key order, not insertion order",
    "frame_recursion": "python-gdb.py prints a frame object found among its own frame's locals again "
                       "inside itself until the 1024-character cut; pyattach prints <...>",
}

INFO_ROW_RE = re.compile(r"^([* ]) +(\d+) +(Thread 0x[0-9a-f]+ \(LWP (\d+)\)(?: \"(.*?)\")?) +(0x[0-9a-f]+)? ?(?:in )?(.*)$")
SWITCH_RE = re.compile(r"^\[Switching to thread (\d+) \((Thread 0x[0-9a-f]+ \(LWP (\d+)\))(.*)\)\]$")
FRAME_NUM_RE = re.compile(r"^#(\d+)( +|$)")
FRAME_LINE_RE = re.compile(r"^(?:#(\d+) )?(Frame (0x[0-9a-f]+), for file (.*?), line (\d+|\?), in (\S+) \((.*))$")
CFRAME_LINE_RE = re.compile(r"^#(\d+) (<.*>)$")
LOCAL_RE = re.compile(r"^([A-Za-z_][A-Za-z_0-9]*) = (.*)$")
PRINT_RE = re.compile(r"^(local|global|builtin) '(.*)' = (.*)$")
NOT_FOUND_RE = re.compile(r"^'(.*)' not found$")
P_RE = re.compile(r"^\$(\d+) = (.*)$")
BT_LINE_RE = re.compile(r"^#(\d+) +(0x[0-9a-f]+) in (\S+)")
NESTED_FRAME_ADDR_RE = re.compile(r"(?<=Frame )0x[0-9a-f]+(?=, for file)")


def diff_window(a, b, width=110):
    """The part of two lines around their first difference."""
    i = 0
    while i < min(len(a), len(b)) and a[i] == b[i]:
        i += 1
    start = max(0, i - 40)
    pre = "..." if start else ""
    return pre + a[start:start + width], pre + b[start:start + width]


def is_source_line(line):
    return line.startswith("    ") and not H.PYBT_FILE_RE.match(line) and not FRAME_LINE_RE.match(line)


def matches(want, got):
    """want may hold ANY (the model's mark for garbage python-gdb.py prints)."""
    if ANY not in want:
        return want == got
    return re.fullmatch(".*".join(re.escape(p) for p in want.split(ANY)), got, re.S) is not None


def cut(text):
    return text if len(text) <= MAX_OUTPUT_LEN else text[:MAX_OUTPUT_LEN] + "...(truncated)"


def mask_frame_addrs(text):
    """Every 'Frame 0x...' address -> one of the same length as a 3.11+ one (the
    model does not know interpreter frame addresses)."""
    return NESTED_FRAME_ADDR_RE.sub(lambda m: FRAME_ADDR_3_11 if len(m.group(0)) == len(FRAME_ADDR_3_11)
                                    else m.group(0), text)


def mask_num(line):
    return FRAME_NUM_RE.sub(lambda m: "#N" + m.group(2), line)


class Section:
    def __init__(self, name, thread, gdb_prefix, gdb_cmd, pa_prefix, pa_cmd, kind, meta=None):
        self.name = name
        self.thread = thread          # tag of the thread ("main", ...) or None
        self.gdb_prefix = gdb_prefix
        self.gdb_cmd = gdb_cmd
        self.pa_prefix = pa_prefix
        self.pa_cmd = pa_cmd
        self.kind = kind              # how to compare
        self.meta = meta or {}
        self.gdb = None               # output lines
        self.pa = None


class Values:
    """The target's .values.json, indexed."""

    def __init__(self, data, report):
        self.data = data
        self.threads = data["threads"]
        self.globals = {g["name"]: g for g in data["globals"]}
        self.report = report
        self.by_tid = {t["native_id"]: tag for tag, t in self.threads.items()}
        for t in self.threads.values():
            for f in t["frames"]:
                for e in f.get("locals", []):
                    e["_frame"] = f
        # The innermost frame's line from the ready self-report (taken once blocked).
        for tag, t in self.threads.items():
            rep = next(r for r in report["threads"] if r["native_id"] == t["native_id"])
            for f, rf in zip(t["frames"], rep["frames"]):
                if f["func"] == rf["func"]:
                    f["line"] = rf["line"]

    def frame(self, tag, func):
        for f in self.threads[tag]["frames"]:
            if f["func"] == func and f.get("own"):
                return f
        return None

    def own_frames(self, tag):
        return [f for f in self.threads[tag]["frames"] if f.get("own")]

    def local(self, tag, name, func=None):
        hits = []
        for f in self.own_frames(tag):
            if func is not None and f["func"] != func:
                continue
            hits += [e for e in f["locals"] if e["name"] == name]
        return hits[0] if len(hits) == 1 else None

    def by_id(self, addr):
        for t in self.threads.values():
            for f in t["frames"]:
                for e in f.get("locals", []):
                    if e["id"] == addr:
                        return e
        for g in self.globals.values():
            if g["id"] == addr:
                return g
        return None


def frame_line_expectations(values, tag, m, version):
    """For a pyattach frame line (FRAME_LINE_RE match): (expected pyattach text,
    python-gdb.py text per the known rules, rules), or None if not one of ours."""
    func, addr = m.group(6), m.group(3)
    f = values.frame(tag, func)
    if f is None:
        return None
    prefix = "Frame %s, for file %s, line %s, in %s (" % (addr, f["file"], f["line"], func)
    cells = ""
    if f["cell_args"] and version >= (3, 11):
        cells = ", ".join("%s=<cell at remote %s>" % (n, f["cell_ids"][n]) for n in f["cell_args"])
    def join(rest):
        if cells and rest:
            return cells + ", " + rest
        return cells or rest
    want = cut(prefix + join(f["frame_locals"]) + ")")
    gdb = cut(prefix + join(f["frame_locals_gdb"]) + ")")
    return mask_frame_addrs(want), mask_frame_addrs(gdb), f["frame_locals_rules"]


class Judge:
    """Compares one section's gdb and pyattach lines, with the self-report as referee."""

    def __init__(self, case, values, version):
        self.case = case
        self.values = values
        self.version = version
        self.discrepancies = {}      # rule -> [example lines]
        self.model_failures = []
        self.cell_notes = set()
        self.checked = set()         # (thread, func, name) of locals compared with the self-report

    def note(self, rule, section, gdb_line, pa_line, nrules=1):
        """Records an example; the summary shows one explained by this rule alone."""
        ex = self.discrepancies.setdefault(rule, [])
        ex.append((nrules, len(gdb_line), section, gdb_line, pa_line))
        ex.sort(key=lambda e: e[:2])
        del ex[3:]

    def expectation(self, section, line, func):
        """(want, gdb_want, rules, what) for a value-bearing pyattach line, else None."""
        tag = section.thread
        v = self.values
        m = FRAME_LINE_RE.match(line)
        if m and tag:
            e = frame_line_expectations(v, tag, m, self.version)
            if e:
                return e + ("frame line of %s" % m.group(6),)
            return None
        m = P_RE.match(line)
        if m and "entry" in section.meta:
            e = section.meta["entry"]
            return (mask_frame_addrs("$%s = %s" % (m.group(1), e["expect"])),
                    mask_frame_addrs("$%s = %s" % (m.group(1), e["gdb"])), e["rules"],
                    "$%s = %s" % (m.group(1), e["name"]))
        m = PRINT_RE.match(line)
        if m and tag:
            scope, name = m.group(1), m.group(2)
            e = v.globals.get(name) if scope == "global" else self.find_local(tag, name, func) \
                if scope == "local" else None
            if e is not None:
                return self.value_expectation(e, "%s %r = " % (scope, name), line, "py-print %s" % name)
            return None
        m = NOT_FOUND_RE.match(line)
        if m and tag:
            e = self.find_local(tag, m.group(1), func)
            self.pending = e
            if e is not None and e["kind"] == "cell-arg" and self.version < (3, 11):
                self.cell_notes.add("3.8-3.10: py-print of a captured argument says 'not found'")
                return (line, line, [], "py-print %s" % e["name"])
            if e is not None:
                return ("%s %r = %s" % (e["kind"], e["name"], e["expect"]), line, [], "py-print %s" % e["name"])
            return None
        m = LOCAL_RE.match(line)
        if m and tag and section.kind in ("locals", "tapply-locals"):
            e = self.find_local(tag, m.group(1), func)
            if e is not None:
                return self.value_expectation(e, "%s = " % e["name"], line, "local %s" % e["name"])
        return None

    def find_local(self, tag, name, func):
        """The self-report entry of local `name` in frame `func` (None: frame unknown,
        i.e. look it up by name among our frames; a frame not ours: no entry)."""
        if func is not None:
            if self.values.frame(tag, func) is None:
                return None
            return self.values.local(tag, name, func)
        return self.values.local(tag, name)

    def value_expectation(self, e, prefix, line, what):
        self.pending = e
        if e["kind"] == "cell-arg":
            # A captured argument: its fast-locals slot holds the cell on 3.11+ (both
            # tools print <cell at remote 0x...>), and is empty on 3.8-3.10; the
            # target's locals() shows the value.  Either form is accepted.
            cell = "%s<cell at remote %s>" % (prefix, e["_frame"]["cell_ids"].get(e["name"]))
            value = prefix + e["expect"]
            if line == cell:
                self.cell_notes.add("%s printed as its cell, not its value (target: %s)" % (what, e["repr"]))
                return (line, line, [], what)
            return (value, cell, [], what)
        return (mask_frame_addrs(prefix + e["expect"]), mask_frame_addrs(prefix + e["gdb"]), e["rules"], what)

    def compare_lines(self, section, gdb_lines, pa_lines, label=None):
        """True if equal or every difference is explained; logs the problems."""
        label = label or section.name
        g = [mask_frame_addrs(mask_num(l)) for l in gdb_lines]
        p = [mask_frame_addrs(mask_num(l)) for l in pa_lines]
        if self.version[:2] == (3, 8):
            g = self.lnotab_normalize(section, label, g, p)
        problems = []
        func = (section.meta.get("funcs") or [None])[0]
        if len(g) != len(p):
            problems.append("line counts differ (gdb %d, pyattach %d):\n%s" % (
                len(g), len(p), H.diff(g, p, "gdb", "pyattach")))
        for i, (gl, pl) in enumerate(zip(g, p)):
            mh = re.match(r"^Locals for (\S+)$", pl)
            if mh:
                func = mh.group(1)
            body = re.sub(r"^#N ", "", pl)
            self.pending = None
            exp = self.expectation(section, body, func)
            if exp is not None:
                want, gdb_want, rules, what = exp
                if self.pending is not None and section.thread and "_frame" in self.pending:
                    self.checked.add((section.thread, self.pending["_frame"]["func"], self.pending["name"]))
                if body != want:
                    self.model_failures.append((label, what, body, want))
                    problems.append("pyattach disagrees with the target about %s:\n  pyattach: %s\n"
                                    "  target:   %s" % (what, body[:1500], want[:1500]))
                    continue
            if gl == pl:
                continue
            gbody = re.sub(r"^#N ", "", gl)
            if exp is not None and rules and matches(gdb_want, gbody):
                for r in rules:
                    self.note(r, label, gl, pl, len(rules))
                continue
            # python-gdb.py 3.13 reads inline values without checking they are
            # valid (rule no_inline_values): once its line holds such garbage,
            # the rest of that line (cut at 1024 characters) is unpredictable.
            # pyattach's line was checked against the target above.
            if exp is not None and self.version[:2] == (3, 13) and "<unknown at remote" in gl:
                self.note("no_inline_values", label, gl, pl)
                continue
            if self.version[:2] == (3, 8) and self.lnotab_explains(gl, pl):
                self.note("lnotab", label, gl, pl)
                continue
            problems.append("line %d differs%s:\n  gdb:      %s\n  pyattach: %s" % (
                i + 1, "" if exp is None else " (pyattach matches the target; gdb's line is not "
                "explained by a known python-gdb.py mistake)", gl[:1500], pl[:1500]))
        self.case.check("%s: pyattach equals gdb (or the difference is a known python-gdb.py mistake)"
                        % label, not problems, "\n".join(problems[:6]) +
                        ("\n... %d more" % (len(problems) - 6) if len(problems) > 6 else ""))
        return not problems

    def lnotab_normalize(self, section, label, g, p):
        """3.8 (known python-gdb.py bug): where gdb's File/Frame line is pyattach's
        + 256*k, take pyattach's line and source line (gdb shows the source of the
        wrong line, or none past the end of the file); gdb's py-list of such a frame
        lists the wrong place: replaced by pyattach's, which check_py_list verifies."""
        out = []
        i = j = 0
        while i < len(g) and j < len(p):
            gl, pl = g[i], p[j]
            if gl != pl and self.lnotab_explains(gl, pl) and self.pa_line_is_reported(section, pl):
                self.note("lnotab", label, gl, pl)
                out.append(pl)
                i += 1
                j += 1
                if j < len(p) and is_source_line(p[j]):
                    out.append(p[j])
                    j += 1
                if i < len(g) and is_source_line(g[i]):
                    i += 1
                continue
            out.append(gl)
            i += 1
            j += 1
        out += g[i:]
        if section.pa_cmd == "py-list" and out != p and p and self.lnotab_py_list(section, out):
            self.note("lnotab", label, " / ".join(out[:2]) or "(nothing)", " / ".join(p[:2]))
            return list(p)
        return out

    def pa_line_is_reported(self, section, pl):
        m = FRAME_LINE_RE.match(re.sub(r"^#N ", "", pl)) or H.PYBT_FILE_RE.match(pl)
        if not m or not section.thread:
            return False
        func, line = (m.group(6), m.group(5)) if m.re is FRAME_LINE_RE else (m.group(3), m.group(2))
        return any(f["func"] == func and str(f["line"]) == line
                   for f in self.values.threads[section.thread]["frames"])

    def lnotab_py_list(self, section, gdb_lines):
        """gdb's py-list is empty (line past the end of the file) or marks pyattach's
        line + 256*k."""
        if not gdb_lines:
            return True
        marks = [re.match(r"^ *>(\d+) ", l) for l in gdb_lines]
        marks = [int(m.group(1)) for m in marks if m]
        lines = {int(f["line"]) for f in self.values.threads[section.thread]["frames"]}
        return bool(marks) and all(any(mk - 256 * k in lines for k in (1, 2, 3)) for mk in marks)

    @staticmethod
    def lnotab_explains(gl, pl):
        rx = re.compile(r"line (\d+)")
        a, b = rx.findall(gl), rx.findall(pl)
        if len(a) != 1 or len(b) != 1:
            return False
        d = int(a[0]) - int(b[0])
        return d > 0 and d % 256 == 0 and rx.sub("line ?", gl) == rx.sub("line ?", pl)


# ----------------------------------------------------------------------------
# Running both tools on one script


MUTATING = ("py-up", "py-down", "frame", "thread", "pyattach-thread-lwp", "pyattach-select-eval")


def plan_prefixes(sections):
    """Sets s.emit: whether a section's prefix must run.  A prefix only selects a
    thread/frame, so it is skipped when the previous section wanted the same
    selection and its command did not move it."""
    current = None
    for s in sections:
        key = (tuple(s.gdb_prefix), tuple(s.pa_prefix))
        s.emit = key != current or not (s.gdb_prefix or s.pa_prefix) and current is None
        current = key
        if s.gdb_cmd.split(" ")[0] in MUTATING or s.pa_cmd.split(" ")[0] in MUTATING:
            current = None
        if not (s.gdb_prefix or s.pa_prefix):
            s.emit = True       # nothing to run anyway; keeps walks in sequence


def run_gdb_script(interp, pid, sections, cwd):
    gdb = shutil.which("gdb")
    argv = [gdb or "gdb", "-q", "-nx", "-p", str(pid), "-batch",
            "-ex", "set width 0", "-ex", "set height 0",
            "-ex", "source %s" % interp.gdb_script, "-ex", "source %s" % GDB_HELPERS]
    for i, s in enumerate(sections):
        for c in s.gdb_prefix if getattr(s, "emit", True) else []:
            argv += ["-ex", c]
        argv += ["-ex", "echo %s\\n" % (GDB_BEGIN % i), "-ex", s.gdb_cmd, "-ex", "echo %s\\n" % (GDB_END % i)]
    env = dict(os.environ, LC_ALL="C.UTF-8")
    start = __import__("time").monotonic()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=cwd, env=env, start_new_session=True)
    H._register(proc)
    timed_out = False
    try:
        out, err = proc.communicate(timeout=H.GDB_TIMEOUT)
    except subprocess.TimeoutExpired:
        timed_out = True
        H._kill_group(proc)
        out, err = proc.communicate()
    finally:
        H._kill_group(proc)
    res = H.CmdResult([str(a) for a in argv[:12]] + ["..."], proc.returncode,
                      out.decode("utf-8", "replace"), err.decode("utf-8", "replace"),
                      __import__("time").monotonic() - start, timed_out)
    cur = None
    # split("\n"), not splitlines(): a value may hold U+2028 and the like, printed raw.
    for line in res.stdout.split("\n"):
        m = re.match(r"^@@pyattach-cmd-(begin|end) (\d+)@@$", line)
        if m:
            cur = sections[int(m.group(2))] if m.group(1) == "begin" else None
            if cur is not None:
                cur.gdb = []
            continue
        if cur is not None and not any(r.match(line) for r in H.GDB_NOISE):
            cur.gdb.append(line)
    return res


def run_pa_script(ctx, pid, sections, sep_lines, env=None):
    args = []
    for s in sections:
        for c in s.pa_prefix if getattr(s, "emit", True) else []:
            args += ["-ex", c]
        args += ["-ex", SEP_CMD, "-ex", s.pa_cmd, "-ex", SEP_CMD]
    res = H.run_pyattach(ctx.pyattach, pid, args, cwd=ctx.workdir, env=env)
    lines = res.stdout.split("\n")
    chunks = []
    cur = []
    n = len(sep_lines)
    i = 0
    while i < len(lines):
        if lines[i:i + n] == sep_lines:
            chunks.append(cur)
            cur = []
            i += n
            continue
        cur.append(lines[i])
        i += 1
    chunks.append(cur)
    # chunks: prefix0, cmd0, prefix1, cmd1, ..., trailing
    outputs = chunks[1::2]
    return res, outputs


def parse_info_threads(lines):
    rows = {}
    for l in lines:
        m = INFO_ROW_RE.match(l)
        if m:
            rows[int(m.group(4))] = {"selected": m.group(1) == "*", "num": int(m.group(2)),
                                     "target_id": m.group(3), "comm": m.group(5),
                                     "pc": m.group(6), "rest": m.group(7), "line": l}
    return rows


def parse_bt(lines):
    """[(num, pc, symbol, [annotation lines])] of one thread's bt."""
    frames = []
    for l in lines:
        m = BT_LINE_RE.match(l)
        if m:
            frames.append((int(m.group(1)), m.group(2), m.group(3), []))
        elif frames and l.startswith("    "):
            frames[-1][3].append(l.strip())
    return frames


# ----------------------------------------------------------------------------


def eval_funcs(frame):
    """Functions of the Python frames an eval frame of pyattach's bt runs, innermost first."""
    funcs = [re.match(r'File ".*", line \S+, in (\S+)', a) for a in frame[3]]
    return [m.group(1) for m in funcs if m]


def build_sections(values, pa_threads, pa_bts, interp):
    secs = []
    main_tid = values.threads["main"]["native_id"]
    reset_g = ["pyattach-quiet pyattach-thread-lwp %d" % main_tid, "pyattach-quiet frame 0"]
    reset_p = ["thread %d" % pa_threads[main_tid]["num"], "frame 0"]

    for tag in OWN_THREADS:
        tid = values.threads[tag]["native_id"]
        num = pa_threads[tid]["num"]
        sw_g = ["pyattach-quiet pyattach-thread-lwp %d" % tid, "pyattach-quiet frame 0"]
        sw_p = ["thread %d" % num, "frame 0"]
        bt = pa_bts.get(tid, [])
        evals = [f for f in bt if f[2] == H.EVAL_SYMBOL]
        E = len(evals)
        secs.append(Section("%s/thread" % tag, tag, reset_g, "pyattach-thread-lwp %d" % tid,
                            reset_p, "thread %d" % num, "switch"))
        first = eval_funcs(evals[0]) if evals else []
        for cmd in ("py-bt", "py-bt-full", "py-list", "py-list 1", "py-list 3, 8"):
            secs.append(Section("%s/%s" % (tag, cmd), tag, sw_g, cmd, sw_p, cmd, "plain", {"funcs": first}))
        # Right after attach (deliberate difference 3): gdb needs a py-up first.
        secs.append(Section("%s/py-locals (no py-up)" % tag, tag, sw_g, "py-locals", sw_p, "py-locals",
                            "nearest-gdb"))
        secs.append(Section("%s/py-print G_INT (no py-up)" % tag, tag, sw_g, "py-print G_INT", sw_p,
                            "py-print G_INT", "nearest-gdb"))
        secs.append(Section("%s/py-locals (no py-up) vs gdb after py-up" % tag, tag,
                            sw_g + ["pyattach-quiet py-up"], "py-locals", sw_p, "py-locals", "locals",
                            {"funcs": first}))
        # Each level: j py-ups in both tools (the first py-up selects the same eval frame in both).
        for j in range(1, E + 1):
            funcs = eval_funcs(evals[j - 1])
            names = []
            for fn in funcs[:1]:
                f = values.frame(tag, fn)
                if f:
                    names += [e["name"] for e in f["locals"]]
            if j == 1:
                names += ["G_INT", "G_SHADOWED", "G_NONE", "len", "no_such_name"]
            elif names:
                names = names[:3]
            pre_g = sw_g + ["pyattach-quiet py-up"] * j
            pre_p = sw_p + ["py-up"] * j
            secs.append(Section("%s/L%d/py-locals" % (tag, j), tag, pre_g, "py-locals", pre_p, "py-locals",
                                "locals", {"funcs": funcs}))
            for n in names:
                secs.append(Section("%s/L%d/py-print %s" % (tag, j, n), tag, pre_g, "py-print %s" % n,
                                    pre_p, "py-print %s" % n, "locals", {"funcs": funcs}))
            if j in (1, E):
                for cmd in ("py-list", "py-bt"):
                    secs.append(Section("%s/L%d/%s" % (tag, j, cmd), tag, pre_g, cmd, pre_p, cmd, "plain",
                                        {"funcs": funcs}))
        # A walk up past the outermost, then down past the innermost.
        for k in range(E + 1):
            secs.append(Section("%s/walk/py-up %d" % (tag, k + 1), tag, sw_g if k == 0 else [], "py-up",
                                sw_p if k == 0 else [], "py-up", "walk"))
        for k in range(E + 2):
            secs.append(Section("%s/walk/py-down %d" % (tag, k + 1), tag, [], "py-down", [], "py-down", "walk"))
        # frame N on the first and last eval frames.
        for k in sorted({0, E - 1}):
            if k < 0:
                continue
            n = evals[k][0]
            pre_g = sw_g + ["pyattach-quiet pyattach-select-eval %d" % k]
            pre_p = sw_p + ["frame %d" % n]
            secs.append(Section("%s/frame %d" % (tag, n), tag, sw_g, "pyattach-select-eval %d" % k,
                                sw_p, "frame %d" % n, "frame", {"pc": evals[k][1]}))
            for cmd in ("py-bt", "py-locals", "py-list"):
                secs.append(Section("%s/frame %d/%s" % (tag, n, cmd), tag, pre_g, cmd, pre_p, cmd,
                                    "locals" if cmd == "py-locals" else "plain", {"funcs": eval_funcs(evals[k])}))

    secs.append(Section("info threads", None, reset_g, "info threads", reset_p, "info threads", "info"))
    objects_tid = values.threads["objects"]["native_id"]
    secs.append(Section("info threads after thread N", None,
                        ["pyattach-quiet pyattach-thread-lwp %d" % objects_tid],
                        "info threads", ["thread %d" % pa_threads[objects_tid]["num"]], "info threads",
                        "info", {"selected": objects_tid}))
    secs.append(Section("thread apply all py-bt", None, reset_g, "thread apply all py-bt", reset_p,
                        "thread apply all py-bt", "tapply"))
    secs.append(Section("thread apply all py-locals (gdb, no py-up)", None, reset_g,
                        "thread apply all py-locals", reset_p, "t a a py-locals", "tapply-nearest"))
    secs.append(Section("t a a py-locals", None, reset_g, "thread apply all pyattach-then py-up ;; py-locals",
                        reset_p, "t a a py-locals", "tapply-locals"))
    # p (PyObject*)0xADDR for reported objects.
    entries = []
    for tag in OWN_THREADS:
        for f in values.own_frames(tag):
            entries += [e for e in f["locals"] if e["kind"] == "local"]
    entries += list(values.globals.values())
    seen = set()
    for e in entries:
        if e["id"] in seen:
            continue
        seen.add(e["id"])
        secs.append(Section("p %s (%s)" % (e["id"], e["name"]), None, reset_g, "p (PyObject*)%s" % e["id"],
                            reset_p, "p (PyObject*)%s" % e["id"], "p", {"entry": e}))
    return secs


ERROR_COMMANDS = [
    # (pyattach command, the same command for gdb when its message must be gdb's)
    ("frobnicate", "frobnicate"),
    ("frame 999", "frame 999"),
    ("frame x", None),            # gdb evaluates an expression: No symbol "x" in current context.
    ("thread 99", "thread 99"),
    ("thread x", "thread x"),
    ("info nonsense", "info nonsense"),
    ("help nonsense", "help nonsense"),
    ("thread apply all", "thread apply all"),
    ("p 1+", None),
    ("p (PyObject*)", None),
    ("py-print", None),           # python-gdb.py looks up '' (and gdb needs a py-up first)
]
NONERROR_COMMANDS = [
    # commands that print (not fail) in gdb; compared on stdout, $N masked
    "p (PyObject*)0x0",
    "p (PyObject*)0x10",
]


LIST_LINE_RE = re.compile(r"^( *)(>?)(\d+)    (.*)$")
_FILES = {}


def check_py_list(case, s, values):
    """pyattach's py-list against the source file and the self-report's line:
    `py-list` lists line-5..line+5 of the selected frame, marking line with '>';
    `py-list A` lists A..A+10; `py-list A, B` lists A..B."""
    funcs = s.meta.get("funcs") or []
    frames = values.threads[s.thread]["frames"]
    frame = next((f for f in frames if funcs and f["func"] == funcs[0]), None)
    problems = []
    if frame is None:
        return
    path = frame["file"]
    if path not in _FILES:
        with open(path, encoding="utf-8") as f:
            _FILES[path] = f.read().split("\n")
    text = _FILES[path]
    line = int(frame["line"])
    args = [int(a) for a in re.findall(r"\d+", s.pa_cmd)]
    if not args:
        lo, hi = max(1, line - 5), line + 5
    elif len(args) == 1:
        lo, hi = args[0], args[0] + 10
    else:
        lo, hi = args
    hi = min(hi, len(text) - (1 if text and text[-1] == "" else 0))
    want = []
    for n in range(lo, hi + 1):
        num = (">%d" if n == line else "%d") % n
        want.append("%4s    %s" % (num, text[n - 1]))
    got = [l.rstrip("\n") for l in s.pa]
    want = H.strip_blank_edges(want)
    case.check("%s: lists %s lines %d-%d%s" % (
        s.name, os.path.basename(path), lo, hi, ", '>' at line %d (the self-report's line of %s)" % (line, frame["func"])
        if lo <= line <= hi else ""), got == want, H.diff(want, got, "file", "pyattach"))


def check_info_threads(case, target, values, rows, gdb_rows, selected_tid, label):
    tids = target.tids()
    case.check("%s: one row per task" % label, sorted(rows) == tids, "rows %s, tasks %s" % (sorted(rows), tids))
    problems = []
    for tid, r in rows.items():
        try:
            with open("/proc/%d/task/%d/comm" % (target.pid, tid)) as f:
                comm = f.read().strip()
        except OSError:
            comm = None
        if r["comm"] != comm:
            problems.append("LWP %d: name %r, /proc comm %r" % (tid, r["comm"], comm))
        if r["selected"] != (tid == selected_tid):
            problems.append("LWP %d: selected marker %r, expected %r" % (tid, r["selected"], tid == selected_tid))
        g = gdb_rows.get(tid)
        if g is None:
            problems.append("LWP %d not in gdb's info threads" % tid)
            continue
        if (g["num"], g["target_id"]) != (r["num"], r["target_id"]):
            problems.append("LWP %d: pyattach %d %s, gdb %d %s" % (tid, r["num"], r["target_id"], g["num"],
                                                                   g["target_id"]))
        hb = any(t["native_id"] == tid and t["volatile"] for t in target.report["threads"])
        if not hb and g["pc"] and r["pc"] and int(g["pc"], 16) != int(r["pc"], 16):
            problems.append("LWP %d: frame #0 pc pyattach %s, gdb %s" % (tid, r["pc"], g["pc"]))
    case.check("%s: ids, LWPs, names (= /proc comm), selected marker, pthread ids and pcs = gdb's" % label,
               not problems, "\n".join(problems))
    main = values.threads["main"]["native_id"]
    case.check("%s: the main thread is 1" % label, rows.get(main, {}).get("num") == 1,
               "main LWP %d row: %s" % (main, rows.get(main)))


def check_frame_numbers(case, tag, lines, bt, label):
    """#N of pyattach's frame lines must be bt's numbers of the frames that run them."""
    by_num = {n: (pc, sym, ann) for n, pc, sym, ann in bt}
    problems = []
    for l in lines:
        m = FRAME_LINE_RE.match(l)
        if m and m.group(1) is not None:
            n = int(m.group(1))
            f = by_num.get(n)
            want = 'File "%s", line %s, in %s' % (m.group(4), m.group(5), m.group(6))
            if f is None or f[1] != H.EVAL_SYMBOL or want not in f[2]:
                problems.append("#%d %s: bt #%d is %s" % (n, want, n, f[1] if f else "absent"))
            continue
        m = CFRAME_LINE_RE.match(l)
        if m:
            n = int(m.group(1))
            f = by_num.get(n)
            if f is None or m.group(2) not in f[2]:
                problems.append("#%d %s: bt #%d is %s %s" % (n, m.group(2), n, f[1] if f else "absent",
                                                             f[2] if f else ""))
    case.check("%s: #N are the numbers bt gives the C frames running those Python frames" % label,
               not problems, "\n".join(problems))


VARIANT_KINDS = ("plain", "locals", "walk", "p", "nearest-gdb")


def run_case(case, ctx, variants=()):
    """variants: (name, ctx) pairs whose pyattach plays the same script on the same
    process after the main run and must print the same Python-level sections
    (all but the thread/frame/info lines, which name C functions)."""
    interp = case.interp
    with H.Target(interp, TARGET, ctx.workdir) as target:
        with open(target.ready_path + ".values.json") as f:
            data = json.load(f)
        values = Values(data, target.report)
        case.say("  target %s: pid %d, %d threads, CPython %s" % (
            target.name, target.pid, len(target.report["threads"]), target.report["version_string"]))
        version = tuple(interp.version)
        pid = target.pid

        # --- pre-run: separator text, thread numbers, bt of every thread
        pre = H.run_pyattach(ctx.pyattach, pid, ["-ex", SEP_CMD, "-ex", "info threads",
                                                 "-ex", "thread apply all bt"], cwd=ctx.workdir)
        if not case.check("pyattach -ex 'info threads' -ex 'thread apply all bt' exits 0",
                          pre.rc == 0 and not pre.timed_out, pre.describe()):
            return
        lines = pre.stdout.splitlines()
        k = next((i for i, l in enumerate(lines) if l.startswith("  Id")), None)
        if not case.check("info threads prints its header", k is not None, pre.stdout[:2000]):
            return
        sep_lines = lines[:k]
        pa_threads = parse_info_threads(lines)
        _, bt_sections = H.parse_thread_sections(lines)
        pa_bts = {s.lwp: parse_bt(s.lines) for s in bt_sections}
        if not case.check("info threads lists every thread of the self-report",
                          all(t["native_id"] in pa_threads for t in target.report["threads"]),
                          "\n".join(lines[k:k + 12])):
            return

        sections = build_sections(values, pa_threads, pa_bts, interp)
        plan_prefixes(sections)
        case.say("  %d sections" % len(sections))

        # --- gdb (reference), then pyattach, on the same process
        gdb_ok = ctx.want_gdb(case, "gdb reference")
        if gdb_ok:
            gres = run_gdb_script(interp, pid, sections, ctx.workdir)
            case.check("gdb ran (%.1fs)" % gres.seconds, gres.rc == 0 and not gres.timed_out,
                       gres.describe() + "\n" + H.indent(gres.stdout[-2000:], "  | "))
            problems = H.check_running(target)
            case.check("target running after gdb", not problems, "\n".join(problems))
            missing = [s.name for s in sections if s.gdb is None]
            gdb_ok = case.check("gdb printed every section", not missing, "missing: %s" % missing[:10])

        pres, outs = run_pa_script(ctx, pid, sections, sep_lines)
        ok = case.check("pyattach ran the script (%.1fs, %d commands)" % (pres.seconds, len(sections)),
                        pres.rc == 0 and not pres.timed_out and len(outs) >= len(sections),
                        pres.describe() + "\n%d sections cut, %d expected" % (len(outs), len(sections)))
        problems = H.check_running(target)
        case.check("target running after pyattach", not problems, "\n".join(problems))
        if not ok:
            return
        for s, o in zip(sections, outs):
            s.pa = H.strip_blank_edges(o) if s.kind not in ("tapply", "tapply-nearest", "tapply-locals") else o
        case.check("pyattach printed nothing on stderr", not pres.stderr.strip(), pres.stderr[:2000])

        fb, fb_outs = run_pa_script(ctx, pid, sections, sep_lines, env={"PYATTACH_NO_PROCESS_VM_READV": "1"})
        hb = {t["native_id"] for t in target.report["threads"] if t["volatile"]}
        diffs = [s.name for s, o in zip(sections, fb_outs)
                 if s.kind in ("plain", "locals", "walk", "p") and H.strip_blank_edges(o) != s.pa]
        case.check("the same script through /proc/PID/mem (PYATTACH_NO_PROCESS_VM_READV=1) prints the same",
                   fb.rc == 0 and not diffs, fb.describe() + "\nsections that differ: %s" % diffs[:10])
        H.check_running(target)
        for vname, vctx in variants:
            vr, v_outs = run_pa_script(vctx, pid, sections, sep_lines)
            ok = vr.rc == 0 and not vr.timed_out and len(v_outs) >= len(sections)
            bad = [(s, H.strip_blank_edges(o)) for s, o in zip(sections, v_outs)
                   if s.kind in VARIANT_KINDS and H.strip_blank_edges(o) != s.pa]
            detail = vr.describe()
            if ok and bad:
                detail += "\n%d sections differ, the first: %s\n%s" % (
                    len(bad), bad[0][0].name, H.diff(bad[0][0].pa, bad[0][1], "main run", vname))
            n = sum(1 for s in sections if s.kind in VARIANT_KINDS)
            case.check("the same script with %s prints the same (%d sections)" % (vname, n),
                       ok and not bad, detail)
            problems = H.check_running(target)
            case.check("target running after pyattach with %s" % vname, not problems, "\n".join(problems))

        dump = os.path.join(ctx.workdir, "commands-%s.json" % interp.label.replace("/", "_"))
        with open(dump, "w") as f:
            json.dump([{"name": s.name, "gdb_prefix": s.gdb_prefix, "gdb_cmd": s.gdb_cmd, "pa_prefix": s.pa_prefix,
                        "pa_cmd": s.pa_cmd, "gdb": s.gdb, "pa": s.pa} for s in sections], f, indent=1)
        case.say("  both tools' output per section: %s" % dump)
        judge = Judge(case, values, version)
        for s in sections:
            compare_section(case, judge, s, values, target, pa_threads, pa_bts, gdb_ok, version)

        # --- errors: one pyattach run per command; gdb's message for the same command
        err_secs = [Section("error: " + c, None, [], "pyattach-try " + g, [], c, "error")
                    for c, g in ERROR_COMMANDS if g] + \
                   [Section("stdout: " + c, None, [], "pyattach-try " + c, [], c, "error") for c in NONERROR_COMMANDS]
        if gdb_ok:
            run_gdb_script(interp, pid, err_secs, ctx.workdir)
        gdb_err = {s.pa_cmd: s.gdb for s in err_secs}
        for c, g in ERROR_COMMANDS:
            r = H.run_pyattach(ctx.pyattach, pid, ["-ex", c], cwd=ctx.workdir)
            errs = [l for l in r.stderr.splitlines() if l.strip()]
            case.check("`%s`: exit 1, nothing on stdout, one line on stderr" % c,
                       r.rc == 1 and not r.stdout.strip() and len(errs) == 1,
                       r.describe() + "\n  stdout: %r" % r.stdout[:300])
            ref = gdb_err.get(c)
            if gdb_ok and g and ref:
                want = [l[len("ERROR: "):] for l in ref if l.startswith("ERROR: ")]
                case.check("`%s`: the message is gdb's" % c, errs == want,
                           "gdb: %r\npyattach: %r" % (want, errs))
        for c in NONERROR_COMMANDS:
            r = H.run_pyattach(ctx.pyattach, pid, ["-ex", c], cwd=ctx.workdir)
            ref = gdb_err.get(c)
            if gdb_ok and ref is not None:
                want = [re.sub(r"^\$\d+ ", "$N ", l) for l in ref]
                got = [re.sub(r"^\$\d+ ", "$N ", l) for l in r.stdout.splitlines()]
                case.check("`%s` prints what gdb prints ($N masked)" % c, got == want and r.rc == 0,
                           r.describe() + "\n" + H.diff(want, got, "gdb", "pyattach"))
        # quit stops the script; help lists the commands and explains one
        r = H.run_pyattach(ctx.pyattach, pid, ["-ex", "quit", "-ex", "py-bt"], cwd=ctx.workdir)
        case.check("-ex quit -ex py-bt: exits 0 and runs nothing after quit", r.rc == 0 and not r.stdout.strip(),
                   r.describe() + "\n" + r.stdout[:500])
        r = H.run_pyattach(ctx.pyattach, pid, ["-ex", "help", "-ex", "help py-print"], cwd=ctx.workdir)
        names = ["py-bt", "py-bt-full", "py-list", "py-up", "py-down", "py-print", "py-locals", "bt",
                 "frame", "info", "thread", "print", "help", "quit", "detach", "continue"]
        missing = [n for n in names if not re.search(r"(^|[ ,])%s([ ,]|$)" % re.escape(n), r.stdout, re.M)]
        case.check("help lists every command; help py-print explains it", r.rc == 0 and not missing and
                   "NAME" in r.stdout, r.describe() + "\nmissing: %s\n%s" % (missing, r.stdout[:1500]))
        problems = H.check_running(target)
        case.check("target running after the error runs", not problems, "\n".join(problems))

        unchecked = ["%s: %s in %s" % (tag, e["name"], f["func"]) for tag in OWN_THREADS
                     for f in values.own_frames(tag) for e in f["locals"]
                     if (tag, f["func"], e["name"]) not in judge.checked]
        case.check("every local of the target's own frames was printed by pyattach and checked against "
                   "the self-report (%d locals)" % len(judge.checked), not unchecked, "not seen: %s" % unchecked)
        for n in sorted(judge.cell_notes):
            case.say("  NOTE  both tools (python-gdb.py's fast-locals view): %s" % n)
        # --- summary of reference discrepancies
        for rule, examples in sorted(judge.discrepancies.items()):
            text = RULE_TEXT.get(rule, LNOTAB if rule == "lnotab" else NEAREST_FRAME if rule == "nearest" else rule)
            _, _, where, gl, pl = examples[0]
            g, p = diff_window(gl, pl)
            case.say("  REFERENCE DISCREPANCY [%s] %s; e.g. %s:\n        gdb:      %s\n        pyattach: %s" % (
                rule, text, where, g, p))


def compare_section(case, judge, s, values, target, pa_threads, pa_bts, gdb_ok, version):
    tid = values.threads[s.thread]["native_id"] if s.thread else None
    bt = pa_bts.get(tid, [])
    if s.kind == "switch":
        m = SWITCH_RE.match(s.pa[0]) if s.pa else None
        num = pa_threads[tid]["num"]
        case.check("%s: [Switching to thread %d (...)] and frame #0" % (s.name, num),
                   m is not None and int(m.group(1)) == num and int(m.group(3)) == tid and len(s.pa) == 2
                   and s.pa[1].startswith("#0  "), "\n".join(s.pa))
        if gdb_ok and s.gdb:
            case.check("%s: the [Switching ...] line is gdb's" % s.name, s.pa[:1] == s.gdb[:1],
                       "gdb:      %s\npyattach: %s" % (s.gdb[:1], s.pa[:1]))
            gpc = re.match(r"^#0  (0x[0-9a-f]+) in ", s.gdb[1]) if len(s.gdb) > 1 else None
            ppc = re.match(r"^#0  (0x[0-9a-f]+) in ", s.pa[1]) if len(s.pa) > 1 else None
            case.check("%s: frame #0 pc is gdb's" % s.name,
                       gpc and ppc and int(gpc.group(1), 16) == int(ppc.group(1), 16),
                       "gdb:      %s\npyattach: %s" % (s.gdb[1:2], s.pa[1:2]))
        return
    if s.kind == "frame":
        m = BT_LINE_RE.match(s.pa[0]) if s.pa else None
        case.check("%s: prints bt's line for that frame" % s.name,
                   m is not None and m.group(3) == H.EVAL_SYMBOL and m.group(2) == s.meta["pc"],
                   "\n".join(s.pa[:3]))
        if gdb_ok and s.gdb:
            g = re.match(r"^#\d+ +(?:0x[0-9a-f]+ in )?(\S+)", s.gdb[0])
            gpc = [l.split()[1] for l in s.gdb if l.startswith("pyattach-pc ")]
            case.check("%s: same pc and function as gdb's frame" % s.name,
                       g is not None and m is not None and gpc and int(gpc[0], 16) == int(m.group(2), 16)
                       and g.group(1) == m.group(3), "gdb:      %s\npyattach: %s" % (s.gdb[:1] + gpc, s.pa[:1]))
        return
    if s.kind == "info":
        rows = parse_info_threads(s.pa)
        grows = parse_info_threads(s.gdb or []) if gdb_ok else {}
        if not gdb_ok:
            grows = {t: dict(r) for t, r in rows.items()}
        check_info_threads(case, target, values, rows, grows,
                           s.meta.get("selected", values.threads["main"]["native_id"]), s.name)
        return
    if s.kind in ("tapply", "tapply-nearest", "tapply-locals"):
        pre, psecs = H.parse_thread_sections(s.pa)
        case.check("%s: one section per task, nothing before the first" % s.name,
                   sorted(x.lwp for x in psecs) == target.tids() and not [l for l in pre if l.strip()],
                   "\n".join(s.pa[:20]))
        if not gdb_ok:
            return
        gpre, gsecs = H.parse_thread_sections(s.gdb)
        gby = {x.lwp: x for x in gsecs}
        hb = {t["native_id"] for t in target.report["threads"] if t["volatile"]}
        for ps in psecs:
            gs = gby.get(ps.lwp)
            if gs is None:
                case.check("%s: gdb has LWP %d" % (s.name, ps.lwp), False)
                continue
            if ps.lwp in hb:
                continue
            tag = values.by_tid.get(ps.lwp)
            evals = [f for f in pa_bts.get(ps.lwp, []) if f[2] == H.EVAL_SYMBOL]
            sub = Section(s.name, tag, [], "", [], "", "tapply-locals" if s.kind == "tapply-locals" else "plain",
                          {"funcs": eval_funcs(evals[0]) if evals else []})
            case.check("%s: LWP %d header is gdb's" % (s.name, ps.lwp), ps.header == gs.header,
                       "gdb:      %s\npyattach: %s" % (gs.header, ps.header))
            if s.kind == "tapply-nearest":
                gl = [l for l in gs.lines if l.strip()]
                native = not (tag or any(t["native_id"] == ps.lwp and t["frames"] for t in target.report["threads"]))
                if not native:
                    judge.note("nearest", s.name, " / ".join(gl), "(locals)")
                    case.check("%s: LWP %d: gdb says only 'Unable to read information on python frame' "
                               "(deliberate difference 3; pyattach's answer compared in `t a a py-locals`)"
                               % (s.name, ps.lwp), gl == ["Unable to read information on python frame"],
                               "\n".join(gl))
                continue
            judge.compare_lines(sub, gs.lines, ps.lines, "%s LWP %d" % (s.name, ps.lwp))
            if tag and s.kind == "tapply":
                check_frame_numbers(case, tag, ps.lines, pa_bts.get(ps.lwp, []), "%s LWP %d" % (s.name, ps.lwp))
        return
    if s.kind == "nearest-gdb":
        if not gdb_ok:
            return
        ok = s.gdb == ["Unable to read information on python frame"]
        if ok:
            judge.note("nearest", s.name, s.gdb[0], " / ".join(s.pa[:2]))
        case.check("%s: gdb says 'Unable to read information on python frame' (deliberate difference 3), "
                   "pyattach answers" % s.name, ok and s.pa and not s.pa[0].startswith("Unable"),
                   "gdb: %s\npyattach: %s" % (s.gdb, s.pa[:3]))
        if s.pa_cmd.startswith("py-print"):
            e = values.globals["G_INT"]
            case.check("%s: pyattach finds the global" % s.name, s.pa == ["global 'G_INT' = %s" % e["expect"]],
                       "\n".join(s.pa))
        return
    if s.pa_cmd.startswith("py-list"):
        check_py_list(case, s, values)
    # plain, locals, walk, p: line by line, self-report as referee
    if s.kind == "walk" or s.pa_cmd.startswith("py-bt-full") or s.pa_cmd.startswith("frame"):
        check_frame_numbers(case, s.thread, s.pa, bt, s.name)
    if gdb_ok:
        judge.compare_lines(s, s.gdb, s.pa)
    else:
        # without gdb: still check pyattach's values against the self-report
        judge.compare_lines(s, s.pa, s.pa)


def make_cases(ctx):
    cases = []
    unidata = gdb_unidata()
    if unidata:
        os.environ["PYATTACH_GDB_UNIDATA"] = unidata
    for interp in ctx.interpreters:
        cases.append(H.Case("commands/%s/values" % interp.label, interp, lambda c: run_case(c, ctx),
                            H.target_keywords(TARGET)))
    return cases


def gdb_unidata():
    """The Unicode database version of gdb's Python (python-gdb.py's isprintable())."""
    if not shutil.which("gdb"):
        return None
    try:
        out = subprocess.run(["gdb", "-q", "-nx", "-batch", "-ex",
                              "python import unicodedata; print('UNIDATA', unicodedata.unidata_version)"],
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             timeout=60).stdout.decode()
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.search(r"UNIDATA (\S+)", out)
    return m.group(1) if m else None


if __name__ == "__main__":
    sys.exit(H.main(__doc__.splitlines()[0], make_cases))
