#!/usr/bin/env python3
"""Live test: targets in their own PID and mount namespaces (a container), attached from the host.

Each target runs under `unshare --pid --mount --fork --mount-proc`; inside, a tmpfs
hides a directory of the work directory, and the interpreter and the target scripts
are bind-mounted below it, at paths that do not exist on the host (pyenv
interpreters with LD_LIBRARY_PATH pointing there, Debian's static python3.11 with
PYTHONHOME=/usr). pyattach gets the host PID. Per target:
  (a) `--all-threads py-bt`: one section per task, each thread's frames and source
      lines equal the target's self-report (thread ids translated through NSpid:
      on 3.11+ CPython records them as seen inside the namespace);
  (b) `--all-threads bt`: every thread unwinds to its outermost frame (_start or
      clone), its File lines equal py-bt's;
  (c) under strace, pyattach touches no path below the container-only directory
      except through /proc/PID/root (ELF files, debug files, sources);
  (d) the target runs on, untraced.
Interpreters: the newest 3.11+ and the newest older one found, and Debian's
/usr/bin/python3.11 when installed. Needs root (mounts); otherwise reported as
NOT tested.
"""

import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402
import test_py_bt  # noqa: E402

SCRIPT = "sync_primitives.py"
DEBIAN_PYTHON = "/usr/bin/python3.11"


def ns_pids(pid, tid=None):
    path = "/proc/%d/status" % pid if tid is None else "/proc/%d/task/%d/status" % (pid, tid)
    try:
        with open(path) as f:
            m = re.search(r"^NSpid:\s+(.*)$", f.read(), re.M)
    except OSError:
        return []
    return [int(x) for x in m.group(1).split()] if m else []


class ContainerTarget(H.Target):
    """A harness target started in new PID + mount namespaces.

    pid is the host PID of the Python process; `to_ns` maps host thread ids to
    the ids the target reported (its own namespace's)."""

    def __init__(self, interp, workdir, kind):
        super().__init__(interp, SCRIPT, workdir)
        self.kind = kind                     # "pyenv" or "debian"
        self.root = os.path.join(workdir, "ctr-%s" % os.path.basename(self.ready_path)[:-5])
        self.app_dir = os.path.join(self.root, "app")
        self.host_pid = None
        self.to_ns = {}

    @property
    def pid(self):
        return self.host_pid

    def start(self):
        os.makedirs(self.root)
        q = lambda s: "'%s'" % s.replace("'", "'\\''")
        app = self.app_dir
        script = os.path.join(app, os.path.basename(self.script))
        steps = ["mount -t tmpfs pyattach-ctr %s" % q(self.root),
                 "mkdir -p %s" % q(app),
                 "mount --bind %s %s" % (q(H.TARGETS_DIR), q(app))]
        if self.kind == "debian":
            exe = os.path.join(self.root, "bin", "python3.11")
            steps += ["mkdir -p %s" % q(os.path.dirname(exe)), "touch %s" % q(exe),
                      "mount --bind %s %s" % (q(self.interp.path), q(exe))]
            env = "PYTHONHOME=/usr"
        else:
            prefix = os.path.dirname(os.path.dirname(self.interp.path))
            py = os.path.join(self.root, "py")
            exe = os.path.join(py, "bin", os.path.basename(self.interp.path))
            steps += ["mkdir -p %s" % q(py), "mount --bind %s %s" % (q(prefix), q(py))]
            env = "LD_LIBRARY_PATH=%s" % q(os.path.join(py, "lib"))
        self.exe = exe
        # Not exec'd: sh stays the namespace's init, the target is an ordinary child.
        steps.append("cd %s && env %s %s -u %s %s; true" % (q(app), env, q(exe), q(script), q(self.ready_path)))
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(["unshare", "--pid", "--mount", "--fork", "--mount-proc",
                                          "sh", "-c", " && ".join(steps[:-1]) + " && " + steps[-1]],
                                         cwd=self.workdir, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        H._register(self.proc)
        deadline = time.monotonic() + H.READY_TIMEOUT
        while not os.path.exists(self.ready_path):
            if self.proc.poll() is not None:
                raise H.TargetError("container exited with %s before the target was ready:\n%s"
                                    % (self.proc.returncode, self.log_tail()))
            if time.monotonic() > deadline:
                raise H.TargetError("container target not ready after %.0fs:\n%s" % (H.READY_TIMEOUT, self.log_tail()))
            time.sleep(0.02)
        import json
        with open(self.ready_path) as f:
            self.report = json.load(f)
        if "error" in self.report:
            raise H.TargetError("target failed to settle: %s\n%s" % (self.report, self.log_tail()))
        ns_pid = self.report["pid"]
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            ids = ns_pids(int(entry))
            if len(ids) > 1 and ids[-1] == ns_pid:
                try:
                    with open("/proc/%s/cmdline" % entry, "rb") as f:
                        if self.ready_path.encode() in f.read():
                            self.host_pid = int(entry)
                            break
                except OSError:
                    pass
        if self.host_pid is None:
            raise H.TargetError("no host process has NSpid ending in %d" % ns_pid)
        reporter = self.report["reporter_native_id"]
        while time.monotonic() < deadline:
            self.to_ns = {t: ns_pids(self.host_pid, t)[-1] for t in self.tids() if ns_pids(self.host_pid, t)}
            if reporter not in self.to_ns.values():
                break
            time.sleep(0.01)
        reported = {t["native_id"] for t in self.report["threads"]}
        if set(self.to_ns.values()) != reported:
            raise H.TargetError("container target: tasks (namespace ids) %s but self-report lists %s"
                                % (sorted(self.to_ns.values()), sorted(reported)))


def run_case(case, ctx, kind):
    interp = case.interp
    with ContainerTarget(interp, ctx.workdir, kind) as target:
        threads = {t["native_id"]: t for t in target.report["threads"]}
        case.say("  target %s in a container: host pid %d, namespace pid %d, %d threads, CPython %s, %s"
                 % (target.name, target.pid, target.report["pid"], len(threads),
                    target.report["version_string"], target.exe))
        case.check("the target's pid differs inside its namespace",
                   target.report["pid"] != target.pid and any(h != n for h, n in target.to_ns.items()),
                   "host pid %d, namespace pid %d" % (target.pid, target.report["pid"]))
        case.check("the interpreter and the script paths do not exist on the host",
                   not os.path.exists(target.exe) and not os.path.exists(target.app_dir),
                   "%s / %s exist outside the container" % (target.exe, target.app_dir))
        own = [f["file"] for t in threads.values() for f in t["frames"] if f["file"].startswith(target.app_dir)]
        case.check("the self-report names the container paths",
                   target.report["executable"] == target.exe and own,
                   "executable %s, frames in %s: %d" % (target.report["executable"], target.app_dir, len(own)))

        # (a) py-bt
        tool = "pyattach --all-threads py-bt"
        r = H.run_pyattach(ctx.pyattach, target.pid, ["--all-threads", "py-bt"], cwd=ctx.workdir)
        ok = case.check("%s exits 0" % tool, r.rc == 0 and not r.timed_out, r.describe())
        problems = H.check_running(target)
        case.check("target running after %s" % tool, not problems, "\n".join(problems))
        if ok:
            _, sections = H.parse_thread_sections(r.stdout.splitlines())
            case.check("%s: one section per task (host thread ids)" % tool,
                       sorted(s.lwp for s in sections) == target.tids(),
                       "LWPs %s, tasks %s" % (sorted(s.lwp for s in sections), target.tids()))
            for s in sections:
                t = threads.get(target.to_ns.get(s.lwp))
                if t is None:
                    case.check("%s: LWP %d is a thread of the self-report" % (tool, s.lwp), False)
                    continue
                test_py_bt.compare_thread_to_report(case, "pyattach (host LWP %d)" % s.lwp, s.lines, t)
            sources = [f for s in sections for f in H.pybt_frames(s.lines)
                       if f[0].startswith(target.app_dir)]
            case.check("%s shows source lines of files only the container sees" % tool,
                       sources and all(f[3] for f in sources), "\n".join(H.fmt_frame(f) for f in sources[:5]))

        # (b) bt
        tool = "pyattach --all-threads bt"
        r = H.run_pyattach(ctx.pyattach, target.pid, ["--all-threads", "bt"], cwd=ctx.workdir)
        ok = case.check("%s exits 0" % tool, r.rc == 0 and not r.timed_out, r.describe())
        if ok:
            _, bt_sections = H.parse_thread_sections(r.stdout.splitlines())
            for s in bt_sections:
                t = threads.get(target.to_ns.get(s.lwp))
                outer = H.outermost_symbol(s.lines)
                case.check("bt LWP %d unwinds to the thread's start (outermost %s)" % (s.lwp, outer),
                           outer in ("_start", "clone", "clone3", "__clone", "__clone3"),
                           H.indent("\n".join(s.lines[-6:]), "  | "))
                if t is not None and not t["volatile"]:
                    got = [f[:3] for f in H.pybt_frames(s.lines, H.BT_FILE_RE)]
                    want = [f[:3] for f in H.expected_frames(t)]
                    case.check("bt LWP %d: its Python frames are the self-report's" % s.lwp, got == want,
                               H.diff([H.fmt_frame(f) for f in want], [H.fmt_frame(f) for f in got],
                                      "self-report", "bt"))

        # (c) no host path below the container-only directory
        strace = shutil.which("strace")
        if not strace:
            case.skip("file accesses", "strace not installed: NOT tested")
        else:
            trace = os.path.join(ctx.workdir, "strace-%d.txt" % target.pid)
            r = H.run_cmd([strace, "-f", "-qq", "-e", "trace=%file", "-o", trace, ctx.pyattach, "-p",
                           str(target.pid), "-ex", "thread apply all bt", "-ex", "thread apply all py-list"],
                          H.PYATTACH_TIMEOUT, cwd=ctx.workdir, env=H.without_leak_check_env())
            case.check("pyattach under strace exits 0", r.rc == 0 and not r.timed_out, r.describe())
            with open(trace, errors="replace") as f:
                lines = f.read().splitlines()
            via_root = re.compile(r'"/proc/\d+/root%s' % re.escape(target.root))
            host = [l for l in lines if '"%s' % target.root in l]
            routed = [l for l in lines if via_root.search(l)]
            case.check("no file below %s opened by its host path (%d accesses through /proc/PID/root)"
                       % (target.root, len(routed)), not host and routed, "\n".join(host[:10]))
        problems = H.check_running(target)
        case.check("target running after the last run", not problems, "\n".join(problems))


def pick_interpreters(interpreters):
    """The newest 3.11+ and the newest older interpreter (thread matching differs)."""
    new = [i for i in interpreters if i.minor >= 11]
    old = [i for i in interpreters if i.minor < 11]
    return [l[-1] for l in (new, old) if l]


def make_cases(ctx):
    if ctx.args.gdb_only:
        return []
    cases = []
    for interp in pick_interpreters(ctx.interpreters):
        cases.append(H.Case("containers/%s" % interp.label, interp,
                            lambda c: guarded(c, lambda: run_case(c, ctx, "pyenv")), ["container"]))
    probed = H._probe(DEBIAN_PYTHON) if os.path.exists(DEBIAN_PYTHON) else None
    if probed:
        debian = H.Interpreter(probed[0], probed[1], "debian-%d.%d.%d" % probed[1], None)
        cases.append(H.Case("containers/%s" % debian.label, debian,
                            lambda c: guarded(c, lambda: run_case(c, ctx, "debian")), ["container", "debian"]))
    else:
        print("MISSING INTERPRETER: %s not found \u2014 its container test did NOT run" % DEBIAN_PYTHON)
    return cases


def guarded(case, fn):
    if os.geteuid() != 0 or not shutil.which("unshare"):
        case.skip("container", "needs root and unshare(1) to create namespaces and mounts: NOT tested")
        if os.environ.get("CI"):
            case.check("container test can run under CI (root, unshare)", False)
        return
    fn()


if __name__ == "__main__":
    sys.exit(H.main(__doc__.splitlines()[0], make_cases))
