#!/usr/bin/env python3
"""Live test: pyattach as a non-root user, and the permission errors it gives.

A target runs as nobody (setpriv); then, on the same process:
  (a) pyattach run as nobody too (the same user): `--all-threads py-bt` exits 0 and
      every thread equals the self-report; `bt` exits 0. Where Yama forbids it
      (ptrace_scope >= 1) it must instead fail with exit status 4 and name
      ptrace_scope and the sysctl that changes it;
  (b) pyattach run as another non-root user (uid 65533): exit status 4, nothing on
      stdout, one error line naming both users, one hint line naming the fix
      (run as nobody, or CAP_SYS_PTRACE / docker run --cap-add=SYS_PTRACE);
  (c) pyattach run as root without CAP_SYS_PTRACE (a Docker container's root):
      exit status 4, the error says so, the hint names --cap-add=SYS_PTRACE;
  (d) after each run the target is running and untraced.
(Another tracer, and a root target attached as nobody, are in test_errors.py.)
The interpreter is Debian's /usr/bin/python3.11 when present (others usually sit
under a home directory nobody cannot read), else the first one nobody can run.
Needs root (to switch users); otherwise reported as NOT tested.
"""

import os
import re
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402
import test_py_bt  # noqa: E402

NOBODY = 65534
OTHER = 65533
EXIT_PERMISSION = 4
SCRIPT = "deadlock.py"


def as_user(uid, argv):
    return ["setpriv", "--reuid=%d" % uid, "--regid=%d" % uid, "--clear-groups"] + list(argv)


def yama_scope():
    try:
        with open("/proc/sys/kernel/yama/ptrace_scope") as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def shared_dir(ctx):
    """A directory nobody can read and write, holding pyattach and the targets."""
    d = os.path.join(ctx.workdir, "shared")
    if not os.path.isdir(d):
        os.chmod(ctx.workdir, 0o755)
        os.makedirs(os.path.join(d, "targets"))
        for name in ("_common.py", SCRIPT):
            shutil.copy(os.path.join(H.TARGETS_DIR, name), os.path.join(d, "targets", name))
        shutil.copy2(ctx.pyattach, os.path.join(d, "pyattach"))
        for root, dirs, files in os.walk(d):
            os.chmod(root, 0o777)
            for f in files:
                os.chmod(os.path.join(root, f), 0o755)
    return d


class UserTarget(H.Target):
    """A harness target started as another user, from a copy of the targets."""

    def __init__(self, interp, workdir, uid):
        runner = H.Interpreter("/usr/bin/setpriv", interp.version, interp.label, None,
                               args=as_user(uid, [interp.path])[1:])
        super().__init__(runner, SCRIPT, workdir)
        self.script = os.path.join(workdir, "targets", SCRIPT)


def check_refused(case, what, r, target, must, hint_must):
    case.check("%s: exit status %d" % (what, EXIT_PERMISSION), r.rc == EXIT_PERMISSION and not r.timed_out,
               r.describe())
    case.check("%s: nothing on stdout" % what, not r.stdout.strip(), r.stdout[:500])
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    ok = len(lines) == 2 and lines[1].startswith("pyattach: hint: ")
    case.check("%s: one error line and one hint line" % what, ok, r.stderr)
    if ok:
        for m in must:
            case.check("%s: the error says %r" % (what, m), m in lines[0], lines[0])
        for m in hint_must:
            case.check("%s: the hint says %r" % (what, m), m in lines[1], lines[1])
    problems = H.check_running(target)
    case.check("%s: target running and untraced afterwards" % what, not problems, "\n".join(problems))


def run_case(case, ctx):
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        case.skip("permissions", "needs root and setpriv(1) to run processes as other users: NOT tested")
        if os.environ.get("CI"):
            case.check("permission test can run under CI (root, setpriv)", False)
        return
    shared = shared_dir(ctx)
    binary = os.path.join(shared, "pyattach")
    scope = yama_scope()
    case.say("  Yama ptrace_scope: %s" % ("absent" if scope is None else scope))
    with UserTarget(case.interp, shared, NOBODY) as target:
        uids = open("/proc/%d/status" % target.pid).read()
        case.check("the target runs as nobody", re.search(r"^Uid:\t%d\t%d\t" % (NOBODY, NOBODY), uids, re.M),
                   uids)
        threads = target.report["threads"]

        # (a) the same user
        r = H.run_cmd(as_user(NOBODY, [binary, "-p", str(target.pid), "--all-threads", "py-bt"]),
                      H.PYATTACH_TIMEOUT, cwd=shared)
        what = "pyattach as nobody on nobody's process"
        if scope is not None and scope >= 1:
            check_refused(case, what + " (Yama ptrace_scope %d)" % scope, r, target,
                          ["ptrace_scope is %d" % scope],
                          ["sysctl kernel.yama.ptrace_scope=0"] if scope < 3 else ["reboot"])
        else:
            ok = case.check("%s: --all-threads py-bt exits 0" % what, r.rc == 0 and not r.timed_out, r.describe())
            if ok:
                _, sections = H.parse_thread_sections(r.stdout.splitlines())
                by_lwp = {s.lwp: s for s in sections}
                case.check("%s: one section per task" % what, sorted(by_lwp) == target.tids(),
                           "LWPs %s, tasks %s" % (sorted(by_lwp), target.tids()))
                for t in threads:
                    s = by_lwp.get(t["native_id"])
                    if case.check("%s: has LWP %d" % (what, t["native_id"]), s is not None):
                        test_py_bt.compare_thread_to_report(case, "pyattach as nobody", s.lines, t)
            problems = H.check_running(target)
            case.check("target running after %s" % what, not problems, "\n".join(problems))
            r = H.run_cmd(as_user(NOBODY, [binary, "-p", str(target.pid), "--all-threads", "bt"]),
                          H.PYATTACH_TIMEOUT, cwd=shared)
            case.check("%s: --all-threads bt exits 0 with a _PyEval_EvalFrameDefault frame" % what,
                       r.rc == 0 and H.EVAL_SYMBOL in r.stdout, r.describe())
            problems = H.check_running(target)
            case.check("target running after %s bt" % what, not problems, "\n".join(problems))

        # (b) another non-root user
        r = H.run_cmd(as_user(OTHER, [binary, "-p", str(target.pid), "py-bt"]), H.PYATTACH_TIMEOUT, cwd=shared)
        check_refused(case, "pyattach as uid %d on nobody's process" % OTHER, r, target,
                      ["permission denied", "process %d" % target.pid, "nobody (uid %d)" % NOBODY,
                       "uid %d" % OTHER],
                      ["as nobody", "CAP_SYS_PTRACE", "--cap-add=SYS_PTRACE"])

        # (c) root without CAP_SYS_PTRACE, as in a Docker container
        r = H.run_cmd(["setpriv", "--inh-caps=-sys_ptrace", "--bounding-set=-sys_ptrace", binary, "-p",
                       str(target.pid), "py-bt"], H.PYATTACH_TIMEOUT, cwd=shared)
        check_refused(case, "pyattach as root without CAP_SYS_PTRACE", r, target,
                      ["permission denied", "nobody (uid %d)" % NOBODY, "root without CAP_SYS_PTRACE"],
                      ["--cap-add=SYS_PTRACE"])


def pick_interpreter(ctx):
    probed = H._probe("/usr/bin/python3.11") if os.path.exists("/usr/bin/python3.11") else None
    if probed:
        return H.Interpreter(probed[0], probed[1], "debian-%d.%d.%d" % probed[1], None)
    for interp in ctx.interpreters:
        r = H.run_cmd(as_user(NOBODY, [interp.path, "-c", "pass"]), 30)
        if r.rc == 0:
            return interp
    return None


def make_cases(ctx):
    if ctx.args.gdb_only:
        return []
    interp = pick_interpreter(ctx) if os.geteuid() == 0 else (ctx.interpreters or [None])[-1]
    if interp is None:
        print("MISSING INTERPRETER: no CPython 3.8-3.13 that nobody can run \u2014 permission tests did NOT run")
        return [H.Case("permissions/none", None, lambda c: c.check("an interpreter nobody can run", False),
                       ["permission"])]
    return [H.Case("permissions/%s" % interp.label, interp, lambda c: run_case(c, ctx), ["permission"])]


if __name__ == "__main__":
    sys.exit(H.main(__doc__.splitlines()[0], make_cases))
