"""Support code shared by the live-test targets (stdlib only, CPython 3.8-3.13).

A target script starts its scenario threads, calls start(), then blocks its main
thread at a line marked ``# BLOCK``.  start() launches:

* a daemon "heartbeat" thread that writes an increasing counter to
  READY_FILE + ".heartbeat" every 50 ms (the harness checks it advances after
  each attach), and exits the process if the harness died or the maximum
  lifetime passed, so that no target outlives its test run;
* a "reporter" thread that waits until every other thread is blocked (kernel
  state S, innermost own frame on a ``# BLOCK`` line, the same stack in several
  successive snapshots), writes the self-report JSON to READY_FILE atomically
  and exits.  The harness waits for the reporter's tid to disappear before it
  attaches.

The frames in the self-report come from sys._current_frames(): the
interpreter's own view of each blocked thread, innermost first.  Threads that
threading does not know (C threads such as faulthandler's watchdog) are listed
with "native": true and no frames.
"""

import dis
import json
import linecache
import os
import sys
import threading
import time

TARGETS_DIR = os.path.dirname(os.path.abspath(__file__))
HEARTBEAT_INTERVAL = 0.05
MAX_LIFETIME = float(os.environ.get("PYATTACH_TARGET_MAX_LIFETIME", "900"))
STABLE_SNAPSHOTS = 4
SNAPSHOT_INTERVAL = 0.02
READY_TIMEOUT = 30.0


def _heartbeat(path, parent_pid):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    deadline = time.monotonic() + MAX_LIFETIME
    counter = 0
    while True:
        counter += 1
        os.pwrite(fd, b"%020d\n" % counter, 0)
        if os.getppid() != parent_pid or time.monotonic() > deadline:
            os._exit(3)
        time.sleep(HEARTBEAT_INTERVAL)  # BLOCK


def task_state(tid):
    """The kernel state letter of one of this process's threads (R, S, ...), None if gone."""
    try:
        with open("/proc/self/task/%d/stat" % tid) as f:
            stat = f.read()
    except OSError:
        return None
    return stat[stat.rindex(")") + 2]


def _frames(frame):
    out = []
    while frame is not None:
        code = frame.f_code
        line = frame.f_lineno
        out.append({
            "file": code.co_filename,
            "line": line,
            "func": code.co_name,
            "source": linecache.getline(code.co_filename, line).strip(),
        })
        frame = frame.f_back
    return out


def _is_own_file(path):
    return os.path.dirname(os.path.abspath(path)) == TARGETS_DIR


def _snapshot(volatile_idents, me):
    """Returns (threads, problems)."""
    current = sys._current_frames()
    by_native = {}
    problems = []
    threads = []
    for t in threading.enumerate():
        if t.ident == me:
            continue
        frame = current.get(t.ident)
        frames = _frames(frame)
        volatile = t.ident in volatile_idents
        entry = {"native_id": t.native_id, "name": t.name, "volatile": volatile,
                 "native": False, "main": t is threading.main_thread(),
                 "frames": frames}
        if volatile:
            # A volatile thread may be caught anywhere in its innermost function.
            code = _heartbeat.__code__
            entry["innermost_lines"] = [code.co_firstlineno,
                                        max(l for _, l in dis.findlinestarts(code) if l is not None)]
        by_native[t.native_id] = entry
        threads.append(entry)
        state = task_state(t.native_id)
        if state != "S" and not volatile:
            problems.append("%s: state %r" % (t.name, state))
        if not volatile:
            own = [f for f in frames if _is_own_file(f["file"])]
            if not own or "# BLOCK" not in linecache.getline(own[0]["file"], own[0]["line"]):
                problems.append("%s: not at a # BLOCK line: %r" % (t.name, own[:1]))
    my_tid = threading.get_native_id()
    for name in sorted(os.listdir("/proc/self/task"), key=int):
        tid = int(name)
        if tid == my_tid or tid in by_native:
            continue
        state = task_state(tid)
        if state is None:
            continue
        if state != "S":
            problems.append("native thread %d: state %r" % (tid, state))
        threads.append({"native_id": tid, "name": None, "volatile": False,
                        "native": True, "main": False, "frames": []})
    threads.sort(key=lambda e: e["native_id"])
    return threads, problems


def _key(threads):
    return [(t["native_id"], [(f["file"], f["line"], f["func"]) for f in t["frames"]])
            for t in threads if not t["volatile"]]


def _write_json(path, obj):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1)
    os.replace(tmp, path)


def _reporter(ready_path, volatile_idents, expected_threads):
    me = threading.get_ident()
    deadline = time.monotonic() + READY_TIMEOUT
    previous = None
    stable = 0
    problems = []
    while time.monotonic() < deadline:
        time.sleep(SNAPSHOT_INTERVAL)
        threads, problems = _snapshot(volatile_idents, me)
        names = {t["name"] for t in threads}
        missing = [n for n in expected_threads if n not in names]
        if missing:
            problems.append("threads not alive: %r" % missing)
        key = _key(threads)
        if problems or key != previous:
            stable = 0
        else:
            stable += 1
        previous = key
        if stable >= STABLE_SNAPSHOTS:
            _write_json(ready_path, {
                "pid": os.getpid(),
                "version": list(sys.version_info[:2]),
                "version_string": sys.version.split()[0],
                "executable": sys.executable,
                "cwd": os.getcwd(),
                "reporter_native_id": threading.get_native_id(),
                "heartbeat": ready_path + ".heartbeat",
                "threads": threads,
            })
            return
    _write_json(ready_path, {"pid": os.getpid(), "error": "target never settled",
                             "problems": problems,
                             "reporter_native_id": threading.get_native_id()})


def start(threads=()):
    """Starts the heartbeat, then the given threads (in order), then the reporter.

    threads: iterable of (name, function) pairs; each function must end up
    blocked forever at a line of a target file marked ``# BLOCK``.
    Call it from the main thread, which must block at a ``# BLOCK`` line next.
    """
    if len(sys.argv) < 2:
        sys.exit("usage: %s READY_FILE" % sys.argv[0])
    ready_path = os.path.abspath(sys.argv[1])
    hb = threading.Thread(target=_heartbeat, name="heartbeat",
                          args=(ready_path + ".heartbeat", os.getppid()), daemon=True)
    hb.start()
    started = []
    for name, fn in threads:
        t = threading.Thread(target=fn, name=name, daemon=True)
        t.start()
        started.append(t)
    reporter = threading.Thread(target=_reporter, name="reporter", daemon=True,
                                args=(ready_path, {hb.ident},
                                      [t.name for t in started]))
    reporter.start()
    return started


def block_forever():
    """Sleeps forever in a known C call (for helper threads whose stack is not under test)."""
    while True:
        time.sleep(1e6)  # BLOCK
