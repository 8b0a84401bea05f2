#!/usr/bin/env python3
"""Live test: pyattach's errors, and the state it leaves targets in after them.

  * a pid that does not exist: nonzero exit, stderr names the pid, nothing on stdout;
  * a process that is not Python (/bin/sleep): nonzero exit, stderr says it is not a
    Python process, and the process is left running and untraced;
  * an unsupported CPython (the newest 3.x < 3.8 found under pyenv): nonzero exit,
    stderr names the version, target left running;
  * a target already traced by gdb: nonzero exit, stderr says it is traced; after gdb
    detaches the target runs on, untraced (per interpreter);
  * no permission (pyattach run as nobody via setpriv against a root-owned target):
    nonzero exit, stderr says so; target left running (per interpreter, needs root);
  * each error kind has its own exit status, and the error is at most two lines
    (what failed, then optionally a hint).
"""

import glob
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402

NOBODY = 65534
EXIT_CODES = {}   # error kind -> set of exit statuses seen


def record(kind, result):
    if result.rc not in (None, 0):
        EXIT_CODES.setdefault(kind, set()).add(result.rc)


def check_error(case, kind, result, must_mention, mention_desc):
    """Common checks on a pyattach run that must fail."""
    record(kind, result)
    case.check("%s: nonzero exit" % kind, result.rc not in (0, None) and not result.timed_out,
               result.describe())
    case.check("%s: nothing on stdout" % kind, not result.stdout.strip(),
               H.indent(result.stdout, "  stdout | "))
    lines = [l for l in result.stderr.splitlines() if l.strip()]
    case.check("%s: one error line on stderr (plus at most a hint line)" % kind,
               1 <= len(lines) <= 2, H.indent(result.stderr or "(empty)", "  stderr | "))
    low = result.stderr.lower()
    case.check("%s: stderr %s" % (kind, mention_desc), any(m.lower() in low for m in must_mention),
               "expected one of %r in:\n%s" % (must_mention, H.indent(result.stderr or "(empty)", "  stderr | ")))


def free_pid():
    try:
        with open("/proc/sys/kernel/pid_max") as f:
            pid = int(f.read()) - 1
    except (OSError, ValueError):
        pid = 4194303
    while os.path.exists("/proc/%d" % pid):
        pid -= 1
    return pid


def spawn_plain(argv, cwd):
    proc = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    H._register(proc)
    return proc


def check_untouched(case, kind, pid, proc):
    """For targets without a heartbeat: alive, no task stopped or traced."""
    deadline = time.monotonic() + 5
    while True:
        alive = proc.poll() is None
        states = H.proc_task_states(pid)
        bad = {t: s for t, s in states.items() if s[0] in "tTZX" or s[1] != 0}
        if alive and states and not bad:
            break
        if time.monotonic() > deadline:
            break
        time.sleep(0.02)
    case.check("%s: target alive, not stopped, not traced afterwards" % kind,
               alive and states and not bad,
               "alive=%s task states %s" % (alive, states))


def case_nonexistent(case, ctx):
    pid = free_pid()
    for args in (["py-bt"], ["--all-threads", "bt"]):
        r = H.run_pyattach(ctx.pyattach, pid, args)
        check_error(case, "no such process (%s)" % " ".join(args), r, [str(pid)], "names pid %d" % pid)


def case_not_python(case, ctx):
    sleep = shutil.which("sleep") or "/bin/sleep"
    proc = spawn_plain([sleep, "1000"], ctx.workdir)
    try:
        time.sleep(0.1)
        r = H.run_pyattach(ctx.pyattach, proc.pid, ["py-bt"])
        check_error(case, "not python", r, ["not a python process"], "says 'not a Python process'")
        check_untouched(case, "not python", proc.pid, proc)
        r = H.run_pyattach(ctx.pyattach, proc.pid, ["--all-threads", "bt"])
        record("not python", r)
        case.check("not python (--all-threads bt): nonzero exit", r.rc not in (0, None), r.describe())
        check_untouched(case, "not python (--all-threads bt)", proc.pid, proc)
    finally:
        H._kill_group(proc)


def old_interpreter():
    root = H._pyenv_root()
    best = None
    for path in glob.glob(os.path.join(root or "/nonexistent", "versions", "*", "bin", "python3.[0-7]")):
        probed = H._probe(path)
        if probed and probed[1][:2] < (3, 8) and (best is None or probed[1] > best[1]):
            best = probed
    return best


def case_unsupported(case, ctx):
    found = old_interpreter()
    if not found:
        case.skip("unsupported version", "no CPython 3.x < 3.8 found under pyenv: NOT tested")
        return
    exe, version = found
    ready = os.path.join(ctx.workdir, "old-python.ready")
    code = ("import os, sys, time\n"
            "open(sys.argv[1] + '.tmp', 'w').write('ready')\n"
            "os.rename(sys.argv[1] + '.tmp', sys.argv[1])\n"
            "time.sleep(1e6)\n")
    proc = spawn_plain([exe, "-c", code, ready], ctx.workdir)
    try:
        deadline = time.monotonic() + 20
        while not os.path.exists(ready) and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.02)
        if not case.check("CPython %d.%d target started" % version[:2], os.path.exists(ready)):
            return
        vs = "%d.%d" % version[:2]
        r = H.run_pyattach(ctx.pyattach, proc.pid, ["py-bt"])
        check_error(case, "unsupported version %s" % vs, r, [vs], "names version %s" % vs)
        EXIT_CODES["unsupported version"] = EXIT_CODES.pop("unsupported version %s" % vs, set())
        check_untouched(case, "unsupported version %s" % vs, proc.pid, proc)
    finally:
        H._kill_group(proc)


def case_already_traced(case, ctx):
    if not shutil.which("gdb"):
        case.skip("already traced", "gdb not on PATH: NOT tested")
        return
    with H.Target(case.interp, "deadlock.py", ctx.workdir) as target:
        flag = os.path.join(ctx.workdir, "release-%d" % target.pid)
        gdb = subprocess.Popen(
            ["gdb", "-q", "-nx", "-p", str(target.pid), "-batch",
             "-ex", "shell while [ ! -e '%s' ]; do sleep 0.05; done" % flag],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)
        H._register(gdb)
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                states = H.proc_task_states(target.pid)
                if states and all(s[1] == gdb.pid for s in states.values()):
                    break
                time.sleep(0.02)
            if not case.check("gdb holds the target", states and all(s[1] == gdb.pid for s in states.values()),
                              "task states %s" % states):
                return
            r = H.run_pyattach(ctx.pyattach, target.pid, ["py-bt"])
            check_error(case, "already traced", r, ["trace"], "says the process is traced")
            after = H.proc_task_states(target.pid)
            case.check("already traced: gdb still the tracer of every task",
                       after and all(s[1] == gdb.pid for s in after.values()), "task states %s" % after)
        finally:
            open(flag, "w").close()
            try:
                gdb.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
            H._kill_group(gdb)
        problems = H.check_running(target)
        case.check("already traced: target running after gdb detached", not problems, "\n".join(problems))


def case_permission(case, ctx):
    setpriv = shutil.which("setpriv")
    if os.geteuid() != 0 or not setpriv:
        case.skip("permission denied", "needs root and setpriv to run pyattach as another user: NOT tested")
        return
    # A copy nobody can execute, in case the build tree is not world-readable.
    bindir = tempfile.mkdtemp(prefix="pyattach-bin-", dir=ctx.workdir)
    os.chmod(ctx.workdir, 0o755)
    os.chmod(bindir, 0o755)
    binary = os.path.join(bindir, "pyattach")
    shutil.copy2(ctx.pyattach, binary)
    os.chmod(binary, 0o755)
    with H.Target(case.interp, "deadlock.py", ctx.workdir) as target:
        r = H.run_cmd([setpriv, "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY, "--clear-groups",
                       binary, "-p", str(target.pid), "py-bt"], H.PYATTACH_TIMEOUT, cwd=bindir)
        check_error(case, "permission denied", r,
                    ["permission", "not permitted", "eperm", "cap_sys_ptrace", "ptrace_scope"],
                    "says permission was denied")
        problems = H.check_running(target)
        case.check("permission denied: target running afterwards", not problems, "\n".join(problems))


def case_distinct_codes(case, ctx):
    kinds = {k: v for k, v in EXIT_CODES.items() if v}
    case.say("  exit statuses seen: %s" % ", ".join("%s=%s" % (k, sorted(v)) for k, v in sorted(kinds.items())))
    base = {}
    for k, v in kinds.items():
        base.setdefault(k.split(" (")[0], set()).update(v)
    for k, v in sorted(base.items()):
        case.check("exit status of '%s' is always the same" % k, len(v) == 1, "seen %s" % sorted(v))
    owners = {}
    for k, v in base.items():
        for code in v:
            owners.setdefault(code, []).append(k)
    clashes = {c: ks for c, ks in owners.items() if len(ks) > 1}
    case.check("each error kind has its own exit status (%d kinds)" % len(base), len(base) >= 2 and not clashes,
               "shared statuses: %s" % clashes if clashes else "fewer than two error kinds were exercised")


def make_cases(ctx):
    if ctx.args.gdb_only:
        return []
    cases = [
        H.Case("errors/nonexistent-pid", None, lambda c: case_nonexistent(c, ctx), ["pid"], group="errors"),
        H.Case("errors/not-python", None, lambda c: case_not_python(c, ctx), ["sleep"], group="errors"),
        H.Case("errors/unsupported-version", None, lambda c: case_unsupported(c, ctx), ["3.7"], group="errors"),
    ]
    for interp in ctx.interpreters:
        cases.append(H.Case("errors/%s/already-traced" % interp.label, interp,
                            lambda c: case_already_traced(c, ctx), ["traced"], group="errors"))
        cases.append(H.Case("errors/%s/permission" % interp.label, interp,
                            lambda c: case_permission(c, ctx), ["permission"], group="errors"))
    cases.append(H.Case("errors/distinct-exit-codes", None, lambda c: case_distinct_codes(c, ctx),
                        ["codes"], group="errors"))
    return cases


if __name__ == "__main__":
    sys.exit(H.main(__doc__.splitlines()[0], make_cases))
