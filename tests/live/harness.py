"""Shared machinery for pyattach's live tests (plain Python 3, stdlib only).

Each tests/live/test_*.py builds a list of Case objects and calls main().  A
case runs real target processes (tests/live/targets/*.py) under one CPython
interpreter, attaches pyattach and/or gdb + python-gdb.py to them, and records
named checks.  The run ends with a line "N passed, M failed" and a nonzero exit
status if any check failed.

Interpreters: every $(pyenv root)/versions/*/bin/python3.X (8 <= X <= 13) plus
every python3.X on PATH, deduplicated by real executable; interpreters under
/usr/bin are left out (Debian's stripped build is a separate issue).
PYATTACH_TEST_PYTHONS=path:path:... replaces that search.

Targets always run in their own process group and are killed and reaped in a
finally block and at exit; a target also exits by itself if the test process
dies (it watches its parent pid).
"""

import argparse
import atexit
import difflib
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor

LIVE_DIR = os.path.dirname(os.path.abspath(__file__))
TARGETS_DIR = os.path.join(LIVE_DIR, "targets")
SUPPORTED_MINORS = range(8, 14)
CI_REQUIRED_MINORS = (11, 12, 13)
SYSTEM_DIRS = ("/usr/bin/",)

PYATTACH_TIMEOUT = float(os.environ.get("PYATTACH_TEST_TOOL_TIMEOUT", "60"))
GDB_TIMEOUT = float(os.environ.get("PYATTACH_TEST_GDB_TIMEOUT", "120"))
READY_TIMEOUT = 45.0

# ----------------------------------------------------------------------------
# Interpreters


class Interpreter:
    def __init__(self, path, version, label, gdb_script, args=()):
        self.path = path              # real executable
        self.args = tuple(args)       # interpreter options for targets, e.g. ("-X", "dev")
        self.version = version        # (3, X, micro)
        self.minor = version[1]
        self.label = label            # "3.12.1", or "3.12.1@/path" when ambiguous
        self.gdb_script = gdb_script  # python3.X-gdb.py, or None

    def __repr__(self):
        return "Interpreter(%s, %s)" % (self.label, self.path)


_PROBE = ("import sys, json; print(json.dumps([sys.executable, list(sys.version_info[:3]),"
          " sys.implementation.name]))")


def _probe(path):
    try:
        out = subprocess.run([path, "-c", _PROBE], stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             timeout=30, check=True).stdout
        exe, version, impl = json.loads(out.decode().strip().splitlines()[-1])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None
    if impl != "cpython" or not exe:
        return None
    return os.path.realpath(exe), tuple(version)


def _pyenv_root():
    root = os.environ.get("PYENV_ROOT")
    if root:
        return root
    if shutil.which("pyenv"):
        try:
            out = subprocess.run(["pyenv", "root"], stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL, timeout=30, check=True).stdout
            return out.decode().strip()
        except (OSError, subprocess.SubprocessError):
            pass
    home = os.path.expanduser("~/.pyenv")
    return home if os.path.isdir(home) else None


def _gdb_script_for(exe, minor):
    # Debian installs its extension where gdb auto-loads it for that file.
    debian = "/usr/share/gdb/auto-load" + exe + "-gdb.py"
    if os.path.isfile(debian):
        return debian
    names = ["python3.%d-gdb.py" % minor, "python3-gdb.py", "python-gdb.py"]
    dirs = [os.path.dirname(exe), os.path.join(os.path.dirname(os.path.dirname(exe)), "lib")]
    for d in dirs:
        for n in names:
            p = os.path.join(d, n)
            if os.path.isfile(p):
                return p
    for p in sorted(glob.glob(os.path.join(dirs[1], "libpython3.%d*-gdb.py" % minor))):
        return p
    return None


def discover_interpreters(log=print):
    """Returns the interpreters to test, sorted by version."""
    explicit = os.environ.get("PYATTACH_TEST_PYTHONS")
    candidates = []
    if explicit:
        candidates = [p for p in explicit.split(":") if p]
        log("PYATTACH_TEST_PYTHONS set: testing only %s" % ", ".join(candidates))
    else:
        root = _pyenv_root()
        for minor in SUPPORTED_MINORS:
            if root:
                candidates += sorted(glob.glob(os.path.join(root, "versions", "*", "bin",
                                                            "python3.%d" % minor)))
            for d in os.environ.get("PATH", "").split(os.pathsep):
                p = os.path.join(d or ".", "python3.%d" % minor)
                if os.path.isfile(p) and os.access(p, os.X_OK):
                    candidates.append(p)
    seen = {}
    for cand in candidates:
        probed = _probe(cand)
        if probed is None:
            if explicit:
                log("WARNING: %s is not a runnable CPython; ignored" % cand)
            continue
        exe, version = probed
        if exe in seen:
            continue
        if version[0] != 3 or version[1] not in SUPPORTED_MINORS:
            if explicit:
                log("WARNING: %s is CPython %d.%d, outside 3.8-3.13; ignored" % ((cand,) + version[:2]))
            continue
        if not explicit and exe.startswith(SYSTEM_DIRS):
            log("note: skipping system interpreter %s (distribution build; name it in "
                "PYATTACH_TEST_PYTHONS to test it)" % exe)
            continue
        seen[exe] = version
    labels = {}
    for exe, version in seen.items():
        labels.setdefault("%d.%d.%d" % version, []).append(exe)
    result = []
    for label, exes in labels.items():
        for exe in exes:
            version = seen[exe]
            name = label if len(exes) == 1 else "%s@%s" % (label, exe)
            result.append(Interpreter(exe, version, name, _gdb_script_for(exe, version[1])))
    result.sort(key=lambda i: (i.version, i.path))
    return result


def report_missing(interpreters, log=print):
    """Prints a MISSING INTERPRETER line per absent minor version.

    Returns failure messages: under CI (env CI set) a missing 3.11-3.13 fails.
    """
    present = {i.minor for i in interpreters}
    failures = []
    for minor in SUPPORTED_MINORS:
        if minor in present:
            continue
        log("MISSING INTERPRETER: CPython 3.%d not found \u2014 its live tests did NOT run" % minor)
        if os.environ.get("CI") and minor in CI_REQUIRED_MINORS:
            failures.append("CPython 3.%d is required under CI but was not found" % minor)
    return failures


# ----------------------------------------------------------------------------
# Processes

_live_procs = {}
_live_lock = threading.Lock()


def _register(proc):
    with _live_lock:
        _live_procs[proc.pid] = proc


def _kill_group(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.kill()
    except OSError:
        pass
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        sys.stderr.write("WARNING: process %d did not die after SIGKILL\n" % proc.pid)
    with _live_lock:
        _live_procs.pop(proc.pid, None)


def kill_all():
    with _live_lock:
        procs = list(_live_procs.values())
    for proc in procs:
        _kill_group(proc)


atexit.register(kill_all)


def _on_signal(signum, frame):
    kill_all()
    raise SystemExit(128 + signum)


# A sanitizer report on a captured stderr (UBSan's always land there: GCC 12's
# libubsan ignores log_path when ASan is linked too); see route_sanitizer_reports().
SANITIZER_REPORT_RE = re.compile(r"^.*(runtime error: |ERROR: (Address|Leak|UndefinedBehavior)Sanitizer).*$",
                                 re.M)
_sanitizer_outputs = []
_sanitizer_lock = threading.Lock()


class CmdResult:
    def __init__(self, argv, rc, stdout, stderr, seconds, timed_out):
        self.argv = argv
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr
        self.seconds = seconds
        self.timed_out = timed_out
        # Every captured run is checked here, so no test can read past a report.
        if SANITIZER_REPORT_RE.search(stderr):
            with _sanitizer_lock:
                _sanitizer_outputs.append("$ %s\n%s" % (" ".join(argv), stderr))

    def describe(self):
        s = "$ %s\n  -> exit %s in %.2fs%s" % (
            " ".join(self.argv), self.rc, self.seconds, " (TIMED OUT, killed)" if self.timed_out else "")
        if self.stderr.strip():
            s += "\n  stderr:\n" + indent(self.stderr.rstrip(), "    | ")
        return s


def run_cmd(argv, timeout, cwd=None, env=None):
    """Runs argv in its own process group; kills the group on timeout."""
    start = time.monotonic()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=cwd, env=env, start_new_session=True)
    _register(proc)
    timed_out = False
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        _kill_group(proc)
        out, err = proc.communicate()
    finally:
        _kill_group(proc)
    return CmdResult([str(a) for a in argv], proc.returncode,
                     out.decode("utf-8", "replace"), err.decode("utf-8", "replace"),
                     time.monotonic() - start, timed_out)


class TargetError(Exception):
    pass


class Target:
    """A running target script; use as a context manager (kills it on exit)."""

    _counter = 0
    _counter_lock = threading.Lock()

    def __init__(self, interp, script, workdir, args=()):
        """script: a file in targets/, or an absolute path; args go before the ready path."""
        self.interp = interp
        self.script = os.path.join(TARGETS_DIR, script)
        self.args = list(args)
        self.name = "-".join([os.path.splitext(os.path.basename(script))[0]] + self.args)
        with Target._counter_lock:
            Target._counter += 1
            n = Target._counter
        self.ready_path = os.path.join(workdir, "%s-%s-%d.json" % (self.name, interp.label.replace("/", "_"), n))
        self.log_path = self.ready_path[:-5] + ".log"
        self.workdir = workdir
        self.proc = None
        self.report = None

    @property
    def pid(self):
        return self.proc.pid

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()

    def start(self):
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen([self.interp.path] + list(self.interp.args) +
                                         ["-u", self.script] + self.args + [self.ready_path],
                                         cwd=self.workdir, stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        _register(self.proc)
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            if self.proc.poll() is not None:
                raise TargetError("target %s exited with %s before it was ready:\n%s"
                                  % (self.name, self.proc.returncode, self.log_tail()))
            if os.path.exists(self.ready_path):
                with open(self.ready_path) as f:
                    self.report = json.load(f)
                break
            if time.monotonic() > deadline:
                raise TargetError("target %s not ready after %.0fs:\n%s"
                                  % (self.name, READY_TIMEOUT, self.log_tail()))
            time.sleep(0.02)
        if "error" in self.report:
            raise TargetError("target %s failed to settle: %s %s\n%s" % (
                self.name, self.report["error"], self.report.get("problems"), self.log_tail()))
        # The reporter thread exits after writing; attach only once it is gone.
        task = "/proc/%d/task/%d" % (self.pid, self.report["reporter_native_id"])
        while os.path.exists(task):
            if time.monotonic() > deadline:
                raise TargetError("reporter thread of %s did not exit" % self.name)
            time.sleep(0.01)
        tasks = set(self.tids())
        reported = self.reported_tids()
        if tasks != reported:
            raise TargetError("target %s: tasks %s but self-report lists %s" % (
                self.name, sorted(tasks), sorted(reported)))
        self.settle(deadline)

    def reported_tids(self):
        """The native thread ids the target's self-report lists."""
        return {t["native_id"] for t in self.report["threads"]}

    def settle(self, deadline):
        """Waits, until `deadline`, for a state the report cannot promise; targets
        whose threads change state after reporting override this."""

    def log_tail(self, n=40):
        try:
            with open(self.log_path, errors="replace") as f:
                return indent("".join(f.readlines()[-n:]).rstrip() or "(no output)", "    | ")
        except OSError:
            return "    (no log)"

    def close(self):
        if self.proc is not None:
            _kill_group(self.proc)

    def tids(self):
        try:
            return sorted(int(t) for t in os.listdir("/proc/%d/task" % self.pid))
        except OSError:
            return []

    def thread(self, native_id):
        for t in self.report["threads"]:
            if t["native_id"] == native_id:
                return t
        return None

    def main_thread(self):
        return next(t for t in self.report["threads"] if t["main"])

    def heartbeat(self):
        try:
            with open(self.report["heartbeat"], "rb") as f:
                return int(f.read(20) or b"0")
        except (OSError, ValueError):
            return None


def proc_task_states(pid):
    """{tid: (state letter, TracerPid)} from /proc/PID/task/*/status."""
    states = {}
    try:
        tids = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return states
    for tid in tids:
        try:
            with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
                status = f.read()
        except OSError:
            continue
        state = re.search(r"^State:\s+(\S)", status, re.M)
        tracer = re.search(r"^TracerPid:\s+(\d+)", status, re.M)
        states[int(tid)] = (state.group(1) if state else "?", int(tracer.group(1)) if tracer else -1)
    return states


def check_running(target, timeout=5.0):
    """Problems (empty list if none): the target must be alive, no task stopped
    (t/T) or traced, and its heartbeat must advance by at least 2."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        if target.proc.poll() is not None:
            return ["target exited with status %s\n%s" % (target.proc.returncode, target.log_tail())]
        states = proc_task_states(target.pid)
        bad = {tid: st for tid, st in states.items() if st[0] in "tTZX" or st[1] != 0}
        if states and not bad:
            break
        last = bad
        if time.monotonic() > deadline:
            return ["target tasks still stopped/traced %.0fs after the tool exited: %s" % (
                timeout, ", ".join("%d: State %s TracerPid %d" % (t, s[0], s[1]) for t, s in sorted(last.items())))]
        time.sleep(0.02)
    start = target.heartbeat()
    while True:
        now = target.heartbeat()
        if start is not None and now is not None and now >= start + 2:
            return []
        if time.monotonic() > deadline:
            return ["heartbeat did not advance (was %s, now %s) within %.0fs: target not running" % (
                start, now, timeout)]
        time.sleep(0.02)


# ----------------------------------------------------------------------------
# Tools


OUTPUT_SCHEMA = os.path.join(os.path.dirname(os.path.dirname(LIVE_DIR)), "docs",
                             "pyattach-output.schema.json")


def load_output_validator():
    """(validator, None) for docs/pyattach-output.schema.json (JSON Schema draft
    2020-12, python3-jsonschema), or (None, why) when jsonschema is missing."""
    try:
        import jsonschema
    except ImportError:
        return None, "python3-jsonschema is not installed (scripts/setup.sh installs it)"
    with open(OUTPUT_SCHEMA) as f:
        schema = json.load(f)
    return jsonschema.Draft202012Validator(schema), None


def schema_errors(validator, document):
    """The first five ways `document` breaks the schema, as text."""
    return ["%s: %s" % ("/".join(str(p) for p in e.absolute_path), e.message)
            for e in validator.iter_errors(document)][:5]


def run_pyattach(binary, pid, args, cwd=None, env=None):
    """Runs `binary -p PID args...`; env: extra environment variables."""
    if not binary or not os.access(binary, os.X_OK):
        return CmdResult([str(binary), "-p", str(pid)] + list(args), None, "",
                         "pyattach binary not found or not executable: %r" % binary, 0.0, False)
    full_env = None
    if env:
        full_env = dict(os.environ)
        full_env.update(env)
    return run_cmd([binary, "-p", str(pid)] + list(args), PYATTACH_TIMEOUT, cwd=cwd, env=full_env)


GDB_MARK = "@@pyattach-live-section %s@@"
GDB_COMMANDS = {
    "py-bt": ["py-bt"],
    "all-py-bt": ["thread apply all py-bt"],
    "all-py-bt-full": ["thread apply all py-bt-full"],
    "all-bt": ["set print frame-arguments none", "thread apply all bt"],
    "frames": ["source %s" % os.path.join(LIVE_DIR, "gdb_frames.py"), "pyattach-frames"],
}
GDB_NOISE = [re.compile(p) for p in (
    r"^\[New LWP \d+\]$",
    r"^\[New Thread 0x[0-9a-f]+ \(LWP \d+\)\]$",
    r"^\[Thread debugging using libthread_db enabled\]$",
    r'^Using host libthread_db library ".*"\.$',
    r"^\[Inferior \d+ \(process \d+\) detached\]$",
    r"^warning: ",
)]


class GdbResult:
    def __init__(self, cmd, sections):
        self.cmd = cmd            # CmdResult
        self.sections = sections  # name -> list of lines (noise filtered)


def run_gdb(interp, pid, sections, cwd=None):
    """One gdb session: sources python-gdb.py, then runs each section's commands.

    Output is split at echo markers, so attach-time chatter never leaks into a
    section; known noise lines are dropped as well.
    """
    gdb = shutil.which("gdb")
    argv = [gdb or "gdb", "-q", "-nx", "-p", str(pid), "-batch",
            "-ex", "source %s" % interp.gdb_script]
    for name in sections:
        argv += ["-ex", "echo %s\\n" % (GDB_MARK % name)]
        for c in GDB_COMMANDS[name]:
            argv += ["-ex", c]
    argv += ["-ex", "echo %s\\n" % (GDB_MARK % "end")]
    if not gdb:
        return GdbResult(CmdResult(argv, None, "", "gdb not found on PATH", 0.0, False), {})
    result = run_cmd(argv, GDB_TIMEOUT, cwd=cwd)
    out = {}
    current = None
    for line in result.stdout.splitlines():
        m = re.match(r"^@@pyattach-live-section (\S+)@@$", line)
        if m:
            current = m.group(1) if m.group(1) != "end" else None
            if current:
                out[current] = []
            continue
        if current is None or any(r.match(line) for r in GDB_NOISE):
            continue
        out[current].append(line)
    for name in list(out):
        out[name] = strip_blank_edges(out[name])
    return GdbResult(result, out)


def gdb_frame_summary(gdb_result):
    """{lwp: [frame dicts]} from the "frames" section (see gdb_frames.py), or None."""
    for line in gdb_result.sections.get("frames", []):
        if line.startswith("PYATTACH-FRAMES-JSON "):
            return {t["lwp"]: t["frames"] for t in json.loads(line.split(" ", 1)[1])}
    return None


# ----------------------------------------------------------------------------
# Parsing and comparing output

ADDR_RE = re.compile(r"0x[0-9a-fA-F]+")
HEADER_RE = re.compile(r"^Thread (\d+) \((.*)\):$")
LWP_RE = re.compile(r"\bLWP (\d+)\b")
PYBT_FILE_RE = re.compile(r'^  File "(.*)", line (\d+|\?), in (.*)$')
BT_FILE_RE = re.compile(r'^    File "(.*)", line (\d+|\?), in (.*)$')
BT_FRAME_RE = re.compile(r"^#(\d+)\s+(?:(0x[0-9a-fA-F]+) in )?(\S+)")
BY_ORDER_NOTE = "    (Python frames mapped to C frames by order)"
PYBT_OTHER_RE = re.compile(r"^  (<.*>|Waiting for the GIL|Garbage-collecting)$")
EVAL_SYMBOL = "_PyEval_EvalFrameDefault"


def mask(line):
    return ADDR_RE.sub("0xADDR", line)


def indent(text, prefix):
    return "\n".join(prefix + l for l in text.splitlines())


def strip_blank_edges(lines):
    lines = list(lines)
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


class ThreadSection:
    def __init__(self, number, lwp, header, lines, blank_before):
        self.number = number
        self.lwp = lwp
        self.header = header
        self.lines = lines              # body, trailing blank lines removed
        self.blank_before = blank_before


def parse_thread_sections(lines):
    """Splits "thread apply all" output. Returns (preamble lines, [ThreadSection])."""
    preamble = []
    sections = []
    current = None
    prev_blank = True
    for line in lines:
        m = HEADER_RE.match(line)
        if m:
            lwp = LWP_RE.search(m.group(2))
            current = ThreadSection(int(m.group(1)), int(lwp.group(1)) if lwp else None,
                                    line, [], prev_blank)
            sections.append(current)
        elif current is None:
            preamble.append(line)
        else:
            current.lines.append(line)
        prev_blank = not line.strip()
    for s in sections:
        s.lines = strip_blank_edges(s.lines)
    return preamble, sections


def pybt_frames(lines, file_re=PYBT_FILE_RE):
    """[(file, line, func, source-or-None)] from py-bt (or, with BT_FILE_RE, bt) lines.

    The source line is the next line, indented two more spaces than the File line.
    """
    frames = []
    for i, line in enumerate(lines):
        m = file_re.match(line)
        if not m:
            continue
        source = None
        prefix = " " * (len(line) - len(line.lstrip()) + 2)
        if i + 1 < len(lines):
            nxt = lines[i + 1]
            if nxt.startswith(prefix) and not file_re.match(nxt):
                source = nxt[len(prefix):]
        frames.append((m.group(1), m.group(2), m.group(3), source))
    return frames


def fmt_frame(f):
    return 'File "%s", line %s, in %s' % f[:3]


def expected_frames(thread):
    return [(f["file"], str(f["line"]), f["func"], f["source"] or None) for f in thread["frames"]]


def compare_frames(got, want, what_got="tool", what_want="self-report"):
    """Compares (file, line, func[, source]) lists; returns a diff or ''. """
    g = [fmt_frame(f) for f in got]
    w = [fmt_frame(f) for f in want]
    if g != w:
        return diff(w, g, what_want, what_got)
    problems = []
    for a, b in zip(got, want):
        if b[3] and a[3] != b[3]:
            problems.append("source line under %s: got %r, want %r" % (fmt_frame(a), a[3], b[3]))
    return "\n".join(problems)


def volatile_match(frames, thread):
    """For the heartbeat thread, which may be caught awake: True if `frames`
    (innermost first) has the reported outer frames and its innermost frame is
    the reported function at any line of it."""
    want = expected_frames(thread)
    if not frames or not want or [f[:3] for f in frames[1:]] != [f[:3] for f in want[1:]]:
        return False
    first, last = thread["innermost_lines"]
    return frames[0][0] == want[0][0] and frames[0][2] == want[0][2] and \
        frames[0][1].isdigit() and first <= int(frames[0][1]) <= last


def compare_pybt_to_report(lines, thread, tool="tool"):
    """Problems with one thread's py-bt body versus the self-report ('' if none)."""
    want = expected_frames(thread)
    if not want:
        if lines != ["Unable to locate python frame"]:
            return "thread has no Python frames; expected exactly 'Unable to locate python frame', got:\n" + \
                indent("\n".join(lines) or "(nothing)", "    | ")
        return ""
    problems = []
    if not lines or lines[0] != "Traceback (most recent call first):":
        problems.append("first line is %r, expected 'Traceback (most recent call first):'"
                        % (lines[0] if lines else None))
    got = pybt_frames(lines)
    d = compare_frames(got, want, tool)
    if d:
        problems.append(d)
    frame_lines = set()
    for i, line in enumerate(lines):
        if PYBT_FILE_RE.match(line):
            frame_lines.add(i)
            if i + 1 < len(lines) and lines[i + 1].startswith("    "):
                frame_lines.add(i + 1)
    for i, line in enumerate(lines[1:], 1):
        if i not in frame_lines and not PYBT_OTHER_RE.match(line):
            problems.append("unexpected line %d: %r" % (i, line))
    return "\n".join(problems)


def diff(want, got, want_name, got_name):
    return "\n".join(difflib.unified_diff(list(want), list(got), want_name, got_name, lineterm="", n=3))


def outermost_symbol(lines):
    syms = [m.group(3) for m in (BT_FRAME_RE.match(l) for l in lines) if m]
    return syms[-1] if syms else None


# ----------------------------------------------------------------------------
# Known bugs of the reference (python-gdb.py), found by validating gdb's output
# against the targets' self-reports.  Each is recognised by its exact signature,
# not by target name, so a new kind of disagreement is still a failure.

LNOTAB_BUG = ("python-gdb.py 3.8 bug: PyCodeObjectPtr.addr2line() reads co_lnotab line deltas "
              "as unsigned bytes, so every negative delta adds 256 to the line number "
              "(fixed in 3.9's python-gdb.py); gdb prints the wrong line, and the source of that wrong "
              "line if the file has one")


def known_gdb_discrepancy(interp, gdb_lines, thread):
    """Explanation if gdb's py-bt body for `thread` differs from the self-report
    in a way that matches a known python-gdb.py bug, else None."""
    got = pybt_frames(gdb_lines)
    want = expected_frames(thread)
    if interp.minor == 8 and got and len(got) == len(want) and \
            all(g[0] == w[0] and g[2] == w[2] and g[1].isdigit() for g, w in zip(got, want)):
        deltas = [int(g[1]) - int(w[1]) for g, w in zip(got, want)]
        if any(deltas) and all(d >= 0 and d % 256 == 0 for d in deltas):
            return LNOTAB_BUG
    return None


def without_line_numbers(lines, file_re=PYBT_FILE_RE):
    """py-bt lines with line numbers and source lines removed (masked): used to
    compare with gdb where python-gdb.py gets line numbers wrong."""
    out = []
    skip_source = False
    for line in lines:
        m = file_re.match(line)
        if m:
            out.append('%sFile "%s", line ?, in %s' % (line[:len(line) - len(line.lstrip())],
                                                        m.group(1), m.group(3)))
            skip_source = True
            continue
        if skip_source and line.startswith("    ") and not PYBT_OTHER_RE.match(line):
            skip_source = False
            continue
        skip_source = False
        out.append(mask(line))
    return out


# ----------------------------------------------------------------------------
# Sanitizer reports


def route_sanitizer_reports():
    """Sends any ASan/LSan report of a sanitized pyattach (scripts/test.sh
    PYATTACH_SANITIZE=1) to files in a fresh directory, returned. Many pyattach runs
    have their stderr discarded (test_faults.py) or parsed for one line, and a report
    must fail the run whatever the test reads: sanitizer_reports() fails it at the end
    (UBSan's reports stay on stderr: CmdResult catches them, and a UBSan exit is 87).
    The directory is world-writable (sticky) because some runs are as nobody
    (test_permissions.py, test_errors.py), and a sanitizer that cannot open its log
    file dies. Harmless for an unsanitized binary: nothing reads these variables."""
    log_dir = tempfile.mkdtemp(prefix="pyattach-sanitizer-")
    os.chmod(log_dir, 0o1777)
    prefix = os.path.join(log_dir, "report")
    for var in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):
        os.environ[var] = ":".join(o for o in [os.environ.get(var, ""), "log_path=" + prefix] if o)
    return log_dir


def without_leak_check_env(env=None):
    """os.environ plus env, with LeakSanitizer's exit-time check off (ASan and UBSan stay
    on; leaks are checked by every other run of the same commands). For runs where that
    check cannot work: under strace, because it ptraces pyattach's own threads, which
    strace already traces ("LeakSanitizer does not work under ptrace"); and runs SIGKILLed
    at a random moment, because a kill that lands while the check has the threads stopped
    makes it report "Unable to get registers from thread N", a report about the kill."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    full_env["ASAN_OPTIONS"] = ":".join(o for o in [full_env.get("ASAN_OPTIONS", ""), "detect_leaks=0"] if o)
    return full_env


def sanitizer_reports(log_dir):
    """The reports written under route_sanitizer_reports()'s directory, as
    (file, text); removes the directory."""
    reports = []
    for path in sorted(glob.glob(os.path.join(log_dir, "report*"))):
        with open(path, errors="replace") as f:
            reports.append((path, f.read()))
    shutil.rmtree(log_dir, ignore_errors=True)
    return reports


# ----------------------------------------------------------------------------
# Test runner


class Case:
    def __init__(self, name, interp, fn, keywords=(), group=None):
        self.name = name
        self.interp = interp
        self.group = group or (interp.label if interp else "-")  # cases of a group run in order
        self.fn = fn
        self.keywords = tuple(keywords)
        self.passed = 0
        self.failed = 0
        self.skipped = []
        self.log = []
        self.seconds = 0.0

    def say(self, msg):
        self.log.append(msg)

    def check(self, what, ok, detail=""):
        if ok:
            self.passed += 1
            self.log.append("  ok    %s" % what)
        else:
            self.failed += 1
            self.log.append("  FAIL  %s" % what)
            if detail:
                self.log.append(indent(str(detail).rstrip(), "        "))
        return ok

    def skip(self, what, why):
        self.skipped.append("%s: %s" % (what, why))
        self.log.append("  SKIP  %s: %s" % (what, why))

    def run(self):
        start = time.monotonic()
        try:
            self.fn(self)
        except TargetError as e:
            self.check("target started", False, str(e))
        except Exception:
            self.check("no exception in test code", False, traceback.format_exc())
        self.seconds = time.monotonic() - start


class Context:
    def __init__(self, args, interpreters, workdir):
        self.args = args
        self.interpreters = interpreters
        self.workdir = workdir
        self.pyattach = None if args.gdb_only else os.path.abspath(args.pyattach) if args.pyattach else None

    def want_pyattach(self, case, what):
        if self.args.gdb_only:
            case.skip(what, "--gdb-only given: pyattach NOT tested")
            return False
        return True

    def want_gdb(self, case, what):
        if self.args.no_gdb:
            case.skip(what, "--no-gdb given: gdb comparison NOT done")
            return False
        if not shutil.which("gdb"):
            case.skip(what, "gdb not on PATH: gdb comparison NOT done")
            return False
        if not case.interp.gdb_script:
            case.skip(what, "no python3.%d-gdb.py next to %s: gdb comparison NOT done"
                      % (case.interp.minor, case.interp.path))
            return False
        return True


def target_keywords(script):
    with open(os.path.join(TARGETS_DIR, script)) as f:
        for line in f:
            if line.startswith("# SCENARIOS:"):
                return line.split(":", 1)[1].split()
    return []


def target_scripts():
    """The targets of the common matrix (test_py_bt, test_bt): every targets/[a-z]*.py
    except those with a `# MATRIX: no` line, which serve one test file only."""
    scripts = []
    for path in sorted(glob.glob(os.path.join(TARGETS_DIR, "[a-z]*.py"))):
        with open(path) as f:
            if any(line.startswith("# MATRIX: no") for line in f):
                continue
        scripts.append(os.path.basename(path))
    return scripts


def ptrace_blocker():
    """Returns a reason string if ptrace attach is impossible here, else None."""
    try:
        with open("/proc/sys/kernel/yama/ptrace_scope") as f:
            scope = int(f.read().strip())
    except (OSError, ValueError):
        return None
    if scope == 3:
        return "kernel.yama.ptrace_scope=3 forbids ptrace attach until reboot"
    if scope >= 1 and os.geteuid() != 0:
        return ("kernel.yama.ptrace_scope=%d: run `sudo sysctl kernel.yama.ptrace_scope=0` "
                "(or run as root / with CAP_SYS_PTRACE)" % scope)
    return None


def main(description, make_cases, argv=None):
    """make_cases(ctx) -> list of Case. Runs them; exits nonzero if any check failed."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--pyattach", help="path to the pyattach binary under test")
    parser.add_argument("-k", action="append", default=[],
                        help="run only cases whose name or scenario keywords contain this (repeatable)")
    parser.add_argument("-j", "--jobs", type=int, default=0,
                        help="interpreters tested concurrently (default: min(#interpreters, #cpus))")
    parser.add_argument("--gdb-only", action="store_true",
                        help="validate targets against gdb + python-gdb.py only; skip pyattach")
    parser.add_argument("--no-gdb", action="store_true", help="skip gdb comparisons")
    parser.add_argument("--list", action="store_true", help="list cases and exit")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args(argv)
    if not args.pyattach and not args.gdb_only:
        parser.error("--pyattach PATH is required (or --gdb-only)")

    signal.signal(signal.SIGTERM, _on_signal)
    started = time.monotonic()
    failures = []
    interpreters = discover_interpreters()
    for i in interpreters:
        print("interpreter %-10s %s%s" % (i.label, i.path,
                                           "" if i.gdb_script else "  (no python-gdb.py)"))
    failures += report_missing(interpreters)

    blocker = ptrace_blocker()
    workdir = tempfile.mkdtemp(prefix="pyattach-live-")
    ctx = Context(args, interpreters, workdir)
    cases = make_cases(ctx)
    if args.k:
        cases = [c for c in cases if any(k in c.name or any(k in w for w in c.keywords) for k in args.k)]
    if args.list:
        for c in cases:
            print(c.name)
        return 0
    sanitizer_dir = route_sanitizer_reports()
    if blocker:
        print("SKIPPED: ALL LIVE TESTS NOT RUN: %s" % blocker)
        cases = []
        if os.environ.get("CI"):
            failures.append("ptrace is unavailable under CI: %s" % blocker)

    groups = {}
    for c in cases:
        groups.setdefault(c.group, []).append(c)
    out_lock = threading.Lock()

    def run_group(group):
        for c in group:
            c.run()
            with out_lock:
                print("[%s] %s (%.1fs)" % ("FAIL" if c.failed else "ok", c.name, c.seconds))
                for line in c.log:
                    print(line)
                sys.stdout.flush()

    jobs = args.jobs or min(len(groups) or 1, os.cpu_count() or 1)
    try:
        if jobs <= 1:
            for g in groups.values():
                run_group(g)
        else:
            with ThreadPoolExecutor(max_workers=jobs) as ex:
                for f in [ex.submit(run_group, g) for g in groups.values()]:
                    f.result()
    finally:
        kill_all()

    for output in _sanitizer_outputs:
        failures.append("SANITIZER REPORT on a captured stderr:\n%s" % indent(output.rstrip(), "    | "))
    for path, text in sanitizer_reports(sanitizer_dir):
        failures.append("SANITIZER REPORT from pyattach (%s):\n%s" % (os.path.basename(path),
                                                                       indent(text.rstrip(), "    | ")))
    passed = sum(c.passed for c in cases)
    failed = sum(c.failed for c in cases) + len(failures)
    skipped = [(c.name, s) for c in cases for s in c.skipped]
    print()
    for msg in failures:
        print("FAIL  %s" % msg)
    failed_cases = [c.name for c in cases if c.failed]
    if failed_cases:
        print("failed cases: %s" % ", ".join(failed_cases))
    if skipped:
        print("SKIPPED (%d checks NOT run):" % len(skipped))
        for name, s in skipped:
            print("  SKIPPED %s: %s" % (name, s))
    if failed or args.keep:
        print("work directory kept: %s" % workdir)
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    print("total time %.1fs" % (time.monotonic() - started))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0
