#!/usr/bin/env python3
"""Live test: Debian's own python3.11, with and without its separate debug files, -X dev, and python3.11d.

/usr/bin/python3.11 is stripped, has libpython linked in and is not PIE; python3.11-dbg
adds its DWARF under /usr/lib/debug/.build-id, Debian's gdb extension
(/usr/share/gdb/auto-load/usr/bin/python3.11-gdb.py, python3.11d-gdb.py a link to it)
and /usr/bin/python3.11d, the --with-pydebug build with DWARF of its own.  gdb always
runs with the debug files; "without" is pyattach told to ignore them, on the same
process as gdb, three ways: --no-debug-files, --debug-dir /nonexistent,
PYATTACH_DEBUG_DIRS=/nonexistent.

  * offsets: `-v` says dwarf with the debug files, table with each way of ignoring them;
    python3.11d: dwarf, and table with --offsets-from table.
  * python3.11, python3.11 -X dev, python3.11d -X dev: test_commands' whole script on
    targets/values.py (py-bt, py-bt-full, py-list, py-locals and py-print of every
    local at every level, thread apply all, p) line by line against gdb + Debian's
    extension and the target's self-report; then the same script on the same process
    without the debug files (python3.11d: with --offsets-from table) must print the
    same Python-level sections.
  * `--all-threads py-bt` (test_py_bt's checks: self-report, gdb, /proc/PID/mem) with
    and without the debug files and on python3.11d.
  * bt (test_bt's checks with the debug files), and per frame against gdb's frames on
    one process: the same pcs; the interpreter's frames named as gdb names them (see
    c_name) with the debug files; without them, eval frames still named, the others
    `??` or the same name.
A missing interpreter, debug file or gdb extension prints MISSING INTERPRETER and
fails under CI (scripts/setup.sh installs python3.11-dbg).
"""

import copy
import os
import re
import stat
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402
import test_bt  # noqa: E402
import test_commands  # noqa: E402
import test_py_bt  # noqa: E402

PYTHON = "/usr/bin/python3.11"
PYDEBUG = "/usr/bin/python3.11d"
NO_DEBUG_FILES = (("--no-debug-files",), {})
DEBUG_DIR_NONEXISTENT = (("--debug-dir", "/nonexistent"), {})
DEBUG_DIRS_ENV = ((), {"PYATTACH_DEBUG_DIRS": "/nonexistent"})
TABLE = (("--offsets-from", "table"), {})


def debian_interpreter(path, args=()):
    probed = H._probe(path) if os.path.exists(path) else None
    if not probed:
        return None
    exe, version = probed
    label = "debian-%s%s" % (os.path.basename(path), "-Xdev" if "dev" in args else "")
    gdb_script = "/usr/share/gdb/auto-load%s-gdb.py" % path
    return H.Interpreter(exe, version, label, gdb_script if os.path.isfile(gdb_script) else None, args)


def debug_file(path):
    """Debian's debug file for `path`, by the build ID readelf reads from it, or None."""
    out = H.run_cmd(["readelf", "-n", path], 30).stdout
    m = re.search(r"Build ID: ([0-9a-f]+)", out)
    f = m and "/usr/lib/debug/.build-id/%s/%s.debug" % (m.group(1)[:2], m.group(1)[2:])
    return f if f and os.path.isfile(f) else None


def describe(variant):
    opts, env = variant
    return " ".join(["%s=%s" % kv for kv in env.items()] + list(opts))


def wrapped(ctx, variant):
    """A copy of ctx whose pyattach is a script running it with `variant`'s
    environment and options in front of the others."""
    opts, env = variant
    name = re.sub(r"[^A-Za-z0-9]+", "-", describe(variant)).strip("-")
    path = os.path.join(ctx.workdir, "pyattach-%s" % name)
    if not os.path.exists(path):
        with open(path, "w") as f:
            f.write("#!/bin/sh\nexec env %s %s %s \"$@\"\n" % (
                " ".join("'%s=%s'" % kv for kv in env.items()), ctx.pyattach,
                " ".join("'%s'" % o for o in opts)))
        os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    out = copy.copy(ctx)
    out.pyattach = path
    return out


def check_offsets(case, ctx, expectations):
    """expectations: [(variant, 'dwarf' | 'table')]; one target, pyattach -v per variant."""
    with H.Target(case.interp, "recursion.py", ctx.workdir) as target:
        for (opts, env), want in expectations:
            r = H.run_pyattach(ctx.pyattach, target.pid, ["-v"] + list(opts) + ["py-bt"],
                               cwd=ctx.workdir, env=env)
            m = re.search(r"offsets from (\S+)", r.stderr)
            got = m.group(1) if m else None
            case.check("offsets from %s with %s" % (want, describe((opts, env)) or "the defaults"),
                       r.rc == 0 and got == want, "pyattach -v says offsets from %s\n%s" % (got, r.describe()))
        problems = H.check_running(target)
        case.check("target running after the -v runs", not problems, "\n".join(problems))


# ----------------------------------------------------------------------------
# bt: C frames and their names against gdb's

BT_NATIVE_RE = re.compile(r"^#(\d+) +(0x[0-9a-f]+) in (\S+) \(\)(?: from (\S+))?(?:  \[unnamed: .*\])?$")


def c_name(symbol):
    """What "the same name" means between pyattach's bt and gdb's.

    pyattach prints the ELF symbol of the function (.symtab of the debug file, else
    .dynsym); gdb prints the DWARF name of the function that is not inlined at that
    pc.  GCC names the copies it makes after a dot (Debian's LTO build:
    cfunction_call.lto_priv.0; also .constprop.N, .isra.N, .part.N, .cold) and a
    .symtab may carry a symbol version (clock_nanosleep@@GLIBC_2.17), which no C
    identifier contains: names are the same if they are equal up to the first '.' or
    '@'.  Only the interpreter's frames are compared by name: libc's debug file gives
    gdb internal aliases (__GI___clock_nanosleep for clock_nanosleep)."""
    return re.split(r"[.@]", symbol, 1)[0]


def parse_native(lines):
    """[(pc, symbol, module)] of one thread's bt."""
    out = []
    for l in lines:
        m = BT_NATIVE_RE.match(l)
        if m:
            out.append((int(m.group(2), 16), m.group(3), m.group(4) or ""))
    return out


def check_bt_names(case, ctx, exe):
    nodebug = wrapped(ctx, NO_DEBUG_FILES)
    with H.Target(case.interp, "c_callbacks.py", ctx.workdir) as target:
        gdb = H.run_gdb(case.interp, target.pid, ["frames"], cwd=ctx.workdir)
        summary = H.gdb_frame_summary(gdb) if gdb.cmd.rc == 0 else None
        if not case.check("gdb ran", summary is not None, gdb.cmd.describe()):
            return
        runs = {}
        for name, c in (("with debug files", ctx), ("--no-debug-files", nodebug)):
            r = H.run_pyattach(c.pyattach, target.pid, ["--all-threads", "bt"], cwd=ctx.workdir)
            case.check("pyattach --all-threads bt %s exits 0" % name, r.rc == 0, r.describe())
            _, secs = H.parse_thread_sections(r.stdout.splitlines())
            runs[name] = {s.lwp: parse_native(s.lines) for s in secs}
        problems = H.check_running(target)
        case.check("target running after gdb and pyattach", not problems, "\n".join(problems))
        named_frames = unnamed_without = 0
        for t in target.report["threads"]:
            if t["volatile"]:
                continue  # the heartbeat thread may move between the attaches
            lwp = t["native_id"]
            label = "thread %r LWP %d" % (t["name"], lwp)
            real = [(f["pc"], f["name"] or "??") for f in summary.get(lwp, []) if not f["inline"]]
            with_, without = runs["with debug files"].get(lwp, []), runs["--no-debug-files"].get(lwp, [])
            fmt = lambda fr: ["%#x %s" % (pc, name) for pc, name, *_ in fr]
            case.check("bt %s: the pcs of gdb's frames (inlined ones aside), with and without the debug files"
                       % label, [f[0] for f in with_] == [f[0] for f in real] == [f[0] for f in without],
                       H.diff(fmt(real), fmt(with_), "gdb", "pyattach") + "\n" +
                       H.diff(fmt(with_), fmt(without), "with debug files", "--no-debug-files"))
            if len(with_) != len(real) or len(without) != len(real):
                continue
            bad = []
            for (pc, gname), (_, sym, module), (_, bare, _) in zip(real, with_, without):
                if module != exe:
                    continue
                named_frames += 1
                if sym == "??" or c_name(sym) != gname:
                    bad.append("%#x: gdb %s, pyattach %s" % (pc, gname, sym))
                if bare == "??":
                    unnamed_without += 1
                elif c_name(bare) != gname:
                    bad.append("%#x: gdb %s, pyattach --no-debug-files %s" % (pc, gname, bare))
                if gname == H.EVAL_SYMBOL and bare != H.EVAL_SYMBOL:
                    bad.append("%#x: eval frame named %s without the debug files" % (pc, bare))
            case.check("bt %s: %s's frames named as gdb names them (up to GCC's .suffix and @version); "
                       "without the debug files ?? or the same name" % (label, exe), not bad, "\n".join(bad))
        # Proof that "without" was without: Debian's .dynsym lacks the static functions.
        case.check("without the debug files some of the %d interpreter frames are ?? (%d)"
                   % (named_frames, unnamed_without), named_frames and unnamed_without)


# ----------------------------------------------------------------------------


def missing(case, what):
    print("MISSING INTERPRETER: %s \u2014 its Debian tests did NOT run" % what)
    case.say("MISSING INTERPRETER: %s \u2014 NOT tested" % what)
    case.skip(what, "NOT tested")
    if os.environ.get("CI"):
        case.check("%s (required under CI; scripts/setup.sh installs python3.11-dbg)" % what, False)


def make_cases(ctx):
    if ctx.args.gdb_only:
        return []
    cases = []

    def add(name, interp, fn, keywords=()):
        # One group per interpreter: the harness runs groups side by side (-j).
        cases.append(H.Case("debian/%s" % name, interp, fn, ("debian",) + tuple(keywords),
                            group=interp.label if interp else "missing"))

    py, py_dev = debian_interpreter(PYTHON), debian_interpreter(PYTHON, ("-X", "dev"))
    pyd_dev = debian_interpreter(PYDEBUG, ("-X", "dev"))
    dbg = py and debug_file(py.path)
    absent = [what for what, ok in (
        ("%s (Debian's python3.11)" % PYTHON, py),
        ("%s (python3.11-dbg's --with-pydebug build)" % PYDEBUG, pyd_dev),
        ("python3.11-dbg's debug file for %s" % PYTHON, dbg),
        ("Debian's gdb extension for %s (python3.11-dbg)" % PYTHON, py and py.gdb_script)) if not ok]
    for what in absent:
        add("missing: %s" % what, None, lambda c, w=what: missing(c, w))
    if absent:
        return cases
    for i in (py, py_dev, pyd_dev):
        print("interpreter %s %s %s  gdb extension: %s" % (i.label, i.path, " ".join(i.args), i.gdb_script))
    print("debug file of %s: %s" % (PYTHON, dbg))

    add("python3.11/offsets", py, lambda c: check_offsets(
        c, ctx, [(((), {}), "dwarf"), (NO_DEBUG_FILES, "table"), (DEBUG_DIR_NONEXISTENT, "table"),
                 (DEBUG_DIRS_ENV, "table")]), ["offsets"])
    add("python3.11/commands", py, lambda c: test_commands.run_case(
        c, ctx, [(describe(NO_DEBUG_FILES), wrapped(ctx, NO_DEBUG_FILES))]), ["commands"])
    add("python3.11/py_bt", py, lambda c: test_py_bt.run_case(c, ctx, "c_callbacks.py"), ["py_bt"])
    add("python3.11/py_bt --no-debug-files", py,
        lambda c: test_py_bt.run_case(c, wrapped(ctx, NO_DEBUG_FILES), "sync_primitives.py"), ["py_bt"])
    add("python3.11/bt", py, lambda c: test_bt.run_case(c, ctx, "c_callbacks.py"), ["bt"])
    add("python3.11/bt names", py, lambda c: check_bt_names(c, ctx, PYTHON), ["bt"])

    add("python3.11-Xdev/commands", py_dev, lambda c: test_commands.run_case(
        c, ctx, [(describe(DEBUG_DIRS_ENV), wrapped(ctx, DEBUG_DIRS_ENV))]), ["xdev", "commands"])
    add("python3.11-Xdev/py_bt %s" % describe(DEBUG_DIR_NONEXISTENT), py_dev,
        lambda c: test_py_bt.run_case(c, wrapped(ctx, DEBUG_DIR_NONEXISTENT), "c_callbacks.py"), ["xdev", "py_bt"])

    add("python3.11d-Xdev/offsets", pyd_dev, lambda c: check_offsets(
        c, ctx, [(((), {}), "dwarf"), (TABLE, "table")]), ["pydebug", "offsets"])
    add("python3.11d-Xdev/commands", pyd_dev, lambda c: test_commands.run_case(
        c, ctx, [(describe(TABLE), wrapped(ctx, TABLE))]), ["pydebug", "xdev", "commands"])
    add("python3.11d-Xdev/py_bt", pyd_dev, lambda c: test_py_bt.run_case(c, ctx, "c_callbacks.py"),
        ["pydebug", "xdev", "py_bt"])
    return cases


if __name__ == "__main__":
    sys.exit(H.main(__doc__.splitlines()[0], make_cases))
