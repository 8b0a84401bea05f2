#!/usr/bin/env python3
"""Live test: pyattach never writes to the target.

On the oldest and the newest interpreter found, pyattach runs under
`strace -f -e trace=process_vm_writev,ptrace,openat,open` against
targets/faults.py with `thread apply all py-bt`, `thread apply all bt`,
`thread apply all py-locals`, `py-print n`, `py-locals`, `info threads` and
`p (PyObject*)ADDR`, through both memory paths (process_vm_readv and
PYATTACH_NO_PROCESS_VM_READV=1, i.e. /proc/PID/mem). It checks:
  * no process_vm_writev call at all;
  * every ptrace request is one of ALLOWED (seize, interrupt, read registers and
    memory, resume, detach): no PTRACE_POKE*, SETREGS, SETFPREGS, SETREGSET,
    SETSIGINFO, SYSCALL, SINGLESTEP, ATTACH (sends SIGSTOP) or KILL;
  * /proc/PID/mem (or a task's mem) is only ever opened read-only;
  * the run did its work: exit 0, a traceback on stdout, and the trace shows
    PTRACE_SEIZE and PTRACE_DETACH of every thread.
"""

import os
import re
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402

ALLOWED = {
    "PTRACE_SEIZE", "PTRACE_INTERRUPT", "PTRACE_GETREGS", "PTRACE_GETFPREGS",
    "PTRACE_GETREGSET", "PTRACE_GETSIGINFO", "PTRACE_GETEVENTMSG",
    "PTRACE_PEEKDATA", "PTRACE_PEEKTEXT", "PTRACE_PEEKUSER",
    "PTRACE_CONT", "PTRACE_LISTEN", "PTRACE_DETACH",
}
COMMANDS = ["info threads", "thread apply all py-bt", "thread apply all bt",
            "thread apply all py-locals", "py-locals", "py-print n"]
PTRACE_RE = re.compile(r"\bptrace\((PTRACE_[A-Z_]+|0x[0-9a-f]+|\d+),\s*(\d+)")
OPEN_MEM_RE = re.compile(r'\bopen(?:at)?\((?:[^,]*,\s*)?"(/proc/\d+(?:/task/\d+)?/mem)",\s*([^,)]+)')


def picked_interpreters(interpreters):
    if not interpreters:
        return []
    return [interpreters[0]] if len(interpreters) == 1 else [interpreters[0], interpreters[-1]]


def object_address(ctx, pid):
    """The address of some local object, from a first plain pyattach run."""
    r = H.run_pyattach(ctx.pyattach, pid, ["-ex", "py-bt-full"])
    m = re.search(r"block=<function at remote (0x[0-9a-f]+)>", r.stdout)
    return m.group(1) if m else None


def case_no_writes(case, ctx):
    strace = shutil.which("strace")
    if not strace:
        case.check("strace installed (scripts/setup.sh installs it)", False)
        return
    with H.Target(case.interp, "faults.py", ctx.workdir) as target:
        commands = list(COMMANDS)
        address = object_address(ctx, target.pid)
        if case.check("found an object address for `p`", address is not None):
            commands.append("p (PyObject*)%s" % address)
        tids = set(target.tids())
        for path, env in (("process_vm_readv", {}), ("/proc/PID/mem", {"PYATTACH_NO_PROCESS_VM_READV": "1"})):
            log = os.path.join(ctx.workdir, "strace-%s-%s.log" % (case.interp.label, len(env)))
            argv = [strace, "-f", "-qq", "-o", log, "-e", "trace=process_vm_writev,ptrace,openat,open",
                    "--", os.path.abspath(ctx.pyattach), "-p", str(target.pid)]
            for c in commands:
                argv += ["-ex", c]
            r = H.run_cmd(argv, H.PYATTACH_TIMEOUT * 2, env=H.without_leak_check_env(env))
            case.check("%s: pyattach under strace: exit 0 with tracebacks" % path,
                       r.rc == 0 and "Traceback (most recent call first):" in r.stdout, r.describe())
            try:
                with open(log) as f:
                    trace = f.read()
            except OSError as e:
                case.check("%s: strace log written" % path, False, str(e))
                continue
            requests = {}
            for m in PTRACE_RE.finditer(trace):
                requests.setdefault(m.group(1), set()).add(int(m.group(2)))
            case.say("  %s: ptrace requests: %s" % (path, ", ".join(
                "%s x%d tids" % (k, len(v)) for k, v in sorted(requests.items()))))
            forbidden = sorted(set(requests) - ALLOWED)
            case.check("%s: only allowed ptrace requests" % path, not forbidden,
                       "forbidden: %s" % forbidden)
            writes = [l for l in trace.splitlines() if "process_vm_writev(" in l]
            case.check("%s: no process_vm_writev" % path, not writes, "\n".join(writes[:5]))
            opens = OPEN_MEM_RE.findall(trace)
            writable = [o for o in opens if "O_WRONLY" in o[1] or "O_RDWR" in o[1]]
            case.check("%s: /proc/PID/mem opened read-only only (%d opens)" % (path, len(opens)),
                       not writable, "writable opens: %s" % writable)
            if env:
                case.check("%s: the /proc/PID/mem path was taken" % path, len(opens) > 0,
                           "no open of /proc/%d/mem in the trace" % target.pid)
            case.check("%s: every thread seized and detached" % path,
                       requests.get("PTRACE_SEIZE", set()) >= tids and
                       requests.get("PTRACE_DETACH", set()) >= tids,
                       "tids %s, seized %s, detached %s" % (sorted(tids), sorted(requests.get("PTRACE_SEIZE", ())),
                                                            sorted(requests.get("PTRACE_DETACH", ()))))
        problems = H.check_running(target)
        case.check("target running afterwards", not problems, "\n".join(problems))


SAMPLE_TRACE = """\
4242  ptrace(PTRACE_SEIZE, 77, NULL, 0) = 0
4242  ptrace(PTRACE_POKEDATA, 77, 0x7f00, 0x1) = 0
4243  ptrace(PTRACE_SETREGS, 78, NULL, 0x7ffd0) = 0
4242  openat(AT_FDCWD, "/proc/77/mem", O_RDWR|O_CLOEXEC) = 5
4242  process_vm_writev(77, [{iov_base=0x1, iov_len=8}], 1, [{iov_base=0x2, iov_len=8}], 1, 0) = 8
"""


def case_checker(case, ctx):
    """The trace parser itself catches writes (so that a pass above means something)."""
    requests = {m.group(1) for m in PTRACE_RE.finditer(SAMPLE_TRACE)}
    case.check("parser finds POKEDATA and SETREGS as forbidden",
               requests - ALLOWED == {"PTRACE_POKEDATA", "PTRACE_SETREGS"}, str(requests))
    case.check("parser finds the writable /proc/PID/mem open",
               OPEN_MEM_RE.findall(SAMPLE_TRACE) == [("/proc/77/mem", "O_RDWR|O_CLOEXEC")],
               str(OPEN_MEM_RE.findall(SAMPLE_TRACE)))


def make_cases(ctx):
    if ctx.args.gdb_only:
        return []
    return [H.Case("no_writes/checker", None, lambda c: case_checker(c, ctx), ["strace"])] + [
        H.Case("no_writes/%s" % interp.label, interp, lambda c: case_no_writes(c, ctx), ["strace"])
        for interp in picked_interpreters(ctx.interpreters)]


if __name__ == "__main__":
    sys.exit(H.main(__doc__.splitlines()[0], make_cases))
