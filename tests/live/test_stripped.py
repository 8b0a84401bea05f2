#!/usr/bin/env python3
"""Live test: pyattach on a stripped copy of each interpreter.

For each interpreter (3.8-3.13) the executable and its libpython are copied to a
temporary directory and stripped with `strip --strip-all` (no .symtab, no DWARF:
only .dynsym is left, as in a production build). A target then runs under the
stripped copy (LD_LIBRARY_PATH = that directory, PYTHONHOME = the original
prefix, so the stdlib is the same) and under the original, and:
  (a) the stripped copy is really what runs: /proc/PID/maps names the stripped
      libpython and not the original one;
  (b) `info target` says where _PyRuntime was found (the .PyRuntime section on
      3.10+, the .dynsym symbol before) and that offsets come from the built-in
      table (3.8-3.12) or _Py_DebugOffsets (3.13), with no debug file;
  (c) `--all-threads py-bt`, `thread apply all py-locals` and a few `py-print`s
      print the same on both builds (addresses masked; the heartbeat thread,
      which moves, is compared with the self-report only), including the
      `<built-in method ...>` lines that a stripped build leaves unnamed;
  (d) py-bt of every thread equals the target's self-report, and each value
      py-print shows equals what the target said it must be (values.json);
  (e) the target is running and untraced after every run.
PYTHONHASHSEED=0 for both runs, so that sets print in the same order.
"""

import json
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402

TARGETS = ("values.py", "sync_primitives.py")
# py-print on the main thread of values.py: locals of main_inner, globals, a builtin.
VALUES_PRINTS = ("arg", "lst", "main_local", "G_STR", "G_LIST", "G_NONE", "len", "no_such_name")
LOCALS_LINE_RE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*) = (.*)$")
PRINT_LINE_RE = re.compile(r"^(local|global|builtin) '([^']*)' = (.*)$")


def libpython_of(exe):
    """The libpython the executable loads (from ldd), or None if linked in."""
    out = subprocess.run(["ldd", exe], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         timeout=30).stdout.decode()
    for line in out.splitlines():
        m = re.match(r"\s*(libpython\S+) => (\S+)", line)
        if m:
            return os.path.realpath(m.group(2))
    return None


def section_names(path):
    out = subprocess.run(["readelf", "-S", "-W", path], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, timeout=30).stdout.decode()
    return set(re.findall(r"\]\s+(\.\S+)", out))


def make_wrapper(path, exe, env):
    """A shell script that execs `exe` with `env`: the pid stays the interpreter's."""
    exports = " ".join("%s=%s" % (k, shlex_quote(v)) for k, v in sorted(env.items()))
    with open(path, "w") as f:
        f.write('#!/bin/sh\nexec env %s %s "$@"\n' % (exports, shlex_quote(exe)))
    os.chmod(path, 0o755)


def shlex_quote(s):
    return "'" + s.replace("'", "'\\''") + "'"


class Build:
    """The original or the stripped copy of one interpreter, behind a wrapper."""

    def __init__(self, interp, kind, wrapper, libpython):
        self.kind = kind
        self.libpython = libpython
        self.interp = H.Interpreter(wrapper, interp.version, "%s-%s" % (interp.label, kind), None)


def prepare_builds(case, ctx):
    interp = case.interp
    prefix = os.path.dirname(os.path.dirname(interp.path))
    lib = libpython_of(interp.path)
    d = os.path.join(ctx.workdir, "stripped-%s" % interp.label.replace("/", "_"))
    os.makedirs(d, exist_ok=True)
    exe = os.path.join(d, os.path.basename(interp.path))
    shutil.copy2(interp.path, exe)
    copies = [exe]
    stripped_lib = None
    if lib:
        stripped_lib = os.path.join(d, os.path.basename(lib))
        shutil.copy2(lib, stripped_lib)
        copies.append(stripped_lib)
    r = H.run_cmd(["strip", "--strip-all"] + copies, 120)
    if not case.check("strip --strip-all %s" % " ".join(os.path.basename(c) for c in copies),
                      r.rc == 0, r.describe()):
        return None
    for c in copies:
        names = section_names(c)
        case.check("%s has no .symtab and no DWARF after strip" % os.path.basename(c),
                   ".symtab" not in names and not any(n.startswith(".debug_") for n in names),
                   "sections: %s" % sorted(names))
    case.say("  %s: libpython %s" % (interp.path, lib or "linked in"))
    common = {"PYTHONHASHSEED": "0"}
    original = os.path.join(d, "run-original")
    make_wrapper(original, interp.path, common)
    stripped = os.path.join(d, "run-stripped")
    make_wrapper(stripped, exe, dict(common, LD_LIBRARY_PATH=d, PYTHONHOME=prefix))
    return (Build(interp, "original", original, lib), Build(interp, "stripped", stripped, stripped_lib))


def mapped_files(pid):
    try:
        with open("/proc/%d/maps" % pid) as f:
            return {line.split(None, 5)[5].strip() for line in f if len(line.split(None, 5)) == 6}
    except OSError:
        return set()


def run(case, ctx, target, args, what):
    r = H.run_pyattach(ctx.pyattach, target.pid, args, cwd=ctx.workdir)
    ok = case.check("%s exits 0" % what, r.rc == 0 and not r.timed_out, r.describe())
    problems = H.check_running(target)
    case.check("target running after %s" % what, not problems, "\n".join(problems))
    return r.stdout if ok else None


def thread_key(target, lwp):
    """A name for a thread that is the same in both processes."""
    t = target.thread(lwp)
    if t is None:
        return "LWP?"
    if t["main"]:
        return "main"
    return "C thread" if t["native"] else "thread %s" % t["name"]


# Numbers that differ between two runs of one target: pthread idents (and any
# other integer of 13+ digits, e.g. RLock._release_save()'s owner) and LWPs.
PROCESS_NUMBER_RE = re.compile(r"\b\d{13,}\b|(?<=_native_id=)\d+")


def mask_run(line):
    """Masks addresses and the numbers that differ from one process to another."""
    return PROCESS_NUMBER_RE.sub("N", H.mask(line))


def comparable(target, text, masked=True):
    """{thread key: body lines (addresses masked)} of `thread apply all` output;
    volatile threads (the heartbeat) map to None."""
    _, sections = H.parse_thread_sections(text.splitlines())
    out = {}
    for s in sections:
        t = target.thread(s.lwp)
        lines = [mask_run(l) for l in s.lines] if masked else s.lines
        out[thread_key(target, s.lwp)] = None if t and t["volatile"] else lines
    return out


def load_values(target):
    try:
        with open(target.ready_path + ".values.json") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def observe(case, ctx, build, script):
    """Runs the target under one build; returns what pyattach printed."""
    what = build.kind
    seen = {}
    with H.Target(build.interp, script, ctx.workdir) as target:
        report = target.report
        case.check("%s: self-report version matches" % what,
                   tuple(report["version"]) == case.interp.version[:2], str(report["version"]))
        maps = mapped_files(target.pid)
        if build.libpython:
            others = {m for m in maps if "libpython" in m and m != build.libpython}
            case.check("%s: the target maps %s and no other libpython" % (what, build.libpython),
                       build.libpython in maps and not others,
                       "libpython mappings: %s" % sorted(m for m in maps if "libpython" in m))
        info = run(case, ctx, target, ["info", "target"], "%s: info target" % what)
        seen["info"] = info
        out = run(case, ctx, target, ["--all-threads", "py-bt"], "%s: --all-threads py-bt" % what)
        if out is not None:
            _, sections = H.parse_thread_sections(out.splitlines())
            by_lwp = {s.lwp: s for s in sections}
            for t in report["threads"]:
                s = by_lwp.get(t["native_id"])
                problem = "no section" if s is None else H.compare_pybt_to_report(s.lines, t, what)
                if problem and t["volatile"] and s and H.volatile_match(H.pybt_frames(s.lines), t):
                    problem = ""
                case.check("%s: py-bt of %s equals the self-report" % (what, thread_key(target, t["native_id"])),
                           not problem, problem)
            seen["py-bt"] = comparable(target, out)
            seen["builtin lines"] = sum(1 for l in out.splitlines() if l.startswith("  <built-in"))
        out = run(case, ctx, target, ["-ex", "thread apply all py-locals"],
                  "%s: thread apply all py-locals" % what)
        if out is not None:
            seen["py-locals"] = comparable(target, out)
        values = load_values(target) if script == "values.py" else None
        if script == "values.py":
            args = []
            for name in VALUES_PRINTS:
                args += ["-ex", "py-print %s" % name]
            out = run(case, ctx, target, args, "%s: py-print %s" % (what, " ".join(VALUES_PRINTS)))
            if out is not None:
                seen["py-print"] = [mask_run(l) for l in out.splitlines()]
                check_prints(case, what, out.splitlines(), values)
            if values is not None and "py-locals" in seen:
                check_locals(case, what, target, seen["py-locals"], values)
    return seen


def check_prints(case, what, lines, values):
    """Each py-print value equals the model's `expect` for it."""
    if values is None:
        case.check("%s: values.json present" % what, False)
        return
    main = values["threads"]["main"]["frames"][0]
    local = {e["name"]: e for e in main["locals"]}
    glob = {g["name"]: g for g in values["globals"]}
    problems = []
    for name, line in zip(VALUES_PRINTS, lines):
        m = PRINT_LINE_RE.match(line)
        if name == "no_such_name":
            if line != "'no_such_name' not found":
                problems.append("py-print no_such_name: %r" % line)
            continue
        if name == "len":  # builtins' functions have the builtins module as self
            if H.mask(line) != "builtin 'len' = <built-in method len of module object at remote 0xADDR>":
                problems.append("py-print len: %r" % line)
            continue
        entry = local.get(name) or glob.get(name)
        want_scope = "local" if name in local else "global"
        if not m or m.group(1) != want_scope or m.group(2) != name or \
                H.mask(m.group(3)) != H.mask(entry["expect"]):
            problems.append("py-print %s: got %r, want %s '%s' = %r" % (name, line, want_scope, name, entry["expect"]))
    case.check("%s: py-print values equal the target's own (values.json)" % what,
               not problems and len(lines) >= len(VALUES_PRINTS), "\n".join(problems) or "\n".join(lines))


def check_locals(case, what, target, locals_by_thread, values):
    """Every `name = value` line of py-locals whose local the model knows
    unambiguously (in that thread) equals its `expect`."""
    problems = []
    checked = 0
    for tag, t in values["threads"].items():
        key = thread_key(target, t["native_id"])
        body = locals_by_thread.get(key)
        if body is None:
            problems.append("no py-locals section for %s" % key)
            continue
        known = {}
        for f in t["frames"]:
            for e in f.get("locals", []):
                known.setdefault(e["name"], []).append(e)
        for line in body:
            m = LOCALS_LINE_RE.match(line)
            if not m or len(known.get(m.group(1), [])) != 1:
                continue
            e = known[m.group(1)][0]
            checked += 1
            if m.group(2) != mask_run(e["expect"]):
                problems.append("%s: %s = %s, want %s" % (key, m.group(1), m.group(2), mask_run(e["expect"])))
    case.check("%s: py-locals values equal the target's own (%d checked)" % (what, checked),
               not problems and checked > 0, "\n".join(problems))


def expected_info(version):
    found = "the .PyRuntime section" if version >= (3, 10) else "the _PyRuntime symbol in .dynsym"
    offsets = "debug-offsets" if version >= (3, 13) else "table"
    return found, offsets


def run_case(case, ctx):
    if not ctx.want_pyattach(case, "pyattach on a stripped interpreter"):
        return
    if not shutil.which("strip") or not shutil.which("readelf"):
        case.check("strip and readelf on PATH (binutils)", False)
        return
    builds = prepare_builds(case, ctx)
    if builds is None:
        return
    original, stripped = builds
    for script in TARGETS:
        case.say("  target %s" % script)
        want = observe(case, ctx, original, script)
        got = observe(case, ctx, stripped, script)
        if got.get("info"):
            found, offsets = expected_info(case.interp.version)
            info = got["info"]
            case.check("stripped: info target: _PyRuntime found by %s" % found,
                       "(found by %s)" % found in info, info)
            case.check("stripped: info target: offsets from %s, no debug file" % offsets,
                       re.search(r"^Offsets from: %s\b" % offsets, info, re.M) is not None
                       and "Debug file: none" in info, info)
        if want.get("info"):
            case.check("original: info target: offsets from DWARF",
                       re.search(r"^Offsets from: dwarf \(", want["info"], re.M) is not None,
                       want["info"])
        for what in ("py-bt", "py-locals", "py-print"):
            if what not in want or what not in got:
                continue
            w, g = want[what], got[what]
            if isinstance(w, dict):
                keys = sorted(set(w) | set(g))
                w = [l for k in keys if w.get(k) is not None and g.get(k) is not None
                     for l in ["[%s]" % k] + w[k]]
                g = [l for k in keys if want[what].get(k) is not None and got[what].get(k) is not None
                     for l in ["[%s]" % k] + got[what][k]]
                case.check("%s: the same threads on both builds" % what,
                           sorted(want[what]) == sorted(got[what]),
                           "%s vs %s" % (sorted(want[what]), sorted(got[what])))
            case.check("%s: stripped prints what the original prints (addresses masked)" % what,
                       w == g, H.diff(w, g, "original", "stripped"))
        if "builtin lines" in want:
            case.say("  note  %d <built-in ...> lines in py-bt (original), %d (stripped)"
                     % (want["builtin lines"], got.get("builtin lines", -1)))


def make_cases(ctx):
    return [H.Case("stripped/%s" % i.label, i, lambda c: run_case(c, ctx),
                   keywords=("stripped",) + tuple(t[:-3] for t in TARGETS))
            for i in ctx.interpreters]


if __name__ == "__main__":
    sys.exit(H.main(__doc__.splitlines()[0], make_cases))
