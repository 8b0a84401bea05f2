#!/usr/bin/env python3
"""Live test: thread state (info threads, --thread-state, JSON) and --format json.

One target per interpreter (state/thread_state_target.py): the main thread holds
the GIL in native code (ctypes.PyDLL(None).sleep), two threads spin and so wait
for the GIL, and one thread each is in time.sleep, blocked on a Lock, in os.read
on a pipe, in socket.recv, in socket.accept; faulthandler's watchdog is a C
thread Python does not know. Checks, against what the target reports about
itself (native thread ids, fds, inodes):

  * `--format json info threads`: every thread's activity, GIL relation and
    system call; fd-based calls name the fd's target exactly
    (read(fd=R -> pipe:[INODE]), recvfrom(fd=S -> socket:[INODE]),
    accept4(fd=L -> socket:[INODE])); the document validates against
    docs/pyattach-output.schema.json (python3-jsonschema, Draft 2020-12);
  * text `info threads` ends each row with the state in brackets;
    `--thread-state` adds it to `thread apply` headers, which stay gdb's otherwise;
  * one JSON document for several -ex commands (py-bt, bt, py-bt-full,
    py-locals through thread apply all): valid, one result per command and
    thread, the hog's local `marker` with repr, type and address;
  * a command without a JSON form: one-line error, usage exit status (2);
  * the target runs on, untraced.

Runs on every interpreter the harness finds and on Debian's stripped
/usr/bin/python3.11 when present. A waiting thread can be caught between two
of take_gil's 5 ms waits, outside any system call: on a stripped build that is
"unknown" (nothing proves the wait), so a run whose waiters are not all proven
is repeated, at most 4 times, and the attempts are reported.
"""

import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402

TARGET = os.path.join(H.LIVE_DIR, "state", "thread_state_target.py")
STRIPPED = "/usr/bin/python3.11"
EXIT_USAGE = 2


load_validator = H.load_output_validator
schema_errors = H.schema_errors


class StateTarget:
    def __init__(self, interp_path, workdir, label):
        self.ready = os.path.join(workdir, "state-%s-%d.json" % (label.replace("/", "_"), time.monotonic_ns()))
        self.log = self.ready + ".log"
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen([interp_path, "-u", TARGET, self.ready], stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        H._register(self.proc)
        deadline = time.monotonic() + H.READY_TIMEOUT
        while not os.path.exists(self.ready):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                with open(self.log, errors="replace") as f:
                    raise H.TargetError("state target not ready: %s" % f.read()[-2000:])
            time.sleep(0.02)
        with open(self.ready) as f:
            self.report = json.load(f)
        # The spinners wait for the GIL once the main thread sleeps holding it.
        for tid in self.report["spinners"] + [self.report["main"]]:
            while _task_state(self.proc.pid, tid) != "S":
                if time.monotonic() > deadline:
                    raise H.TargetError("thread %d never blocked" % tid)
                time.sleep(0.02)

    def close(self):
        H._kill_group(self.proc)


def _task_state(pid, tid):
    try:
        with open("/proc/%d/task/%d/stat" % (pid, tid)) as f:
            stat = f.read()
    except OSError:
        return None
    return stat[stat.rindex(")") + 2]


def untouched(target):
    """Problems: the target must be alive with no task stopped or traced."""
    deadline = time.monotonic() + 5
    while True:
        if target.proc.poll() is not None:
            return ["target exited with status %s" % target.proc.returncode]
        states = H.proc_task_states(target.proc.pid)
        bad = {t: s for t, s in states.items() if s[0] in "tTZX" or s[1] != 0}
        if states and not bad:
            return []
        if time.monotonic() > deadline:
            return ["tasks stopped or traced: %r" % bad]
        time.sleep(0.02)


def expected_states(report, minor):
    """{tid: (role, activity, gil, syscall-name set or None, exact description or None)}"""
    fds = report["fds"]

    def fd_call(call, role):
        fd, inode, kind = fds[role]
        return "%s(fd=%d -> %s:[%d])" % (call, fd, kind, inode)

    t = report["threads"]
    sleep_calls = {"clock_nanosleep"} if minor >= 11 else {"select", "pselect6"}
    want = {
        report["main"]: ("main (GIL hog)", "holds_gil", "holds", {"clock_nanosleep"}, None),
        t["sleeper"]: ("sleeper", "sleeping", "not_holding", sleep_calls, None),
        t["locker"]: ("locker", "blocked_on_lock", "not_holding", {"futex"}, None),
        t["reader"]: ("reader", "in_syscall", "not_holding", {"read"}, fd_call("read", "reader")),
        t["recv"]: ("recv", "in_syscall", "not_holding", {"recvfrom"}, fd_call("recvfrom", "recv")),
        t["accept"]: ("accept", "in_syscall", "not_holding", {"accept4"}, fd_call("accept4", "accept")),
    }
    for tid in report["spinners"]:
        want[tid] = ("spinner", "waiting_for_gil", "waiting", None, None)
    for tid in report["c_threads"]:
        want[tid] = ("C thread", "idle", "not_holding", None, None)
    return want


def run_json(case, ctx, target, args, what):
    r = H.run_pyattach(ctx.pyattach, target.proc.pid, ["--format", "json"] + args)
    case.check("%s: exit 0" % what, r.rc == 0, r.describe())
    try:
        return json.loads(r.stdout), r
    except ValueError as e:
        case.check("%s: stdout is one JSON document" % what, False, "%s\n%s" % (e, r.stdout[:2000]))
        return None, r


def check_states(case, ctx, target, minor, validator):
    want = expected_states(target.report, minor)
    waiter_tids = set(target.report["spinners"])
    doc = None
    for attempt in range(1, 5):
        doc, _ = run_json(case, ctx, target, ["info", "threads"], "json info threads (attempt %d)" % attempt)
        if doc is None:
            return
        by_tid = {th["tid"]: th for th in doc["threads"]}
        if all(by_tid.get(tid, {}).get("state", {}).get("activity") == "waiting_for_gil" for tid in waiter_tids):
            break
        case.say("  note  attempt %d caught a GIL waiter outside its wait; repeating" % attempt)
    case.say("  note  states read in %d attempt(s)" % attempt)
    if validator:
        errors = schema_errors(validator, doc)
        case.check("info threads JSON validates against the schema", not errors, "\n".join(errors))
    case.check("schema_version is 1", doc.get("schema_version") == 1, doc.get("schema_version"))
    by_tid = {th["tid"]: th for th in doc["threads"]}
    case.check("every task of the target is listed",
               set(by_tid) == set(int(t) for t in os.listdir("/proc/%d/task" % target.proc.pid)),
               sorted(by_tid))
    for tid, (role, activity, gil, calls, description) in sorted(want.items()):
        got = by_tid.get(tid)
        if not case.check("%s (LWP %d) listed" % (role, tid), got is not None):
            continue
        state = got["state"]
        detail = json.dumps(state, indent=1)
        case.check("%s: activity %s" % (role, activity), state["activity"] == activity, detail)
        case.check("%s: GIL %s" % (role, gil), state["gil"] == gil, detail)
        if calls:
            call = state["syscall"] or {}
            case.check("%s: system call in %s" % (role, sorted(calls)), call.get("name") in calls, detail)
        if description:
            case.check("%s: %s" % (role, description),
                       (state["syscall"] or {}).get("description") == description, detail)
    # Python thread names from threading, comm from /proc.
    for role in ("sleeper", "locker", "reader"):
        th = by_tid.get(target.report["threads"][role], {})
        case.check("%s: python_name from threading" % role, th.get("python_name") == role, th.get("python_name"))
    main = by_tid.get(target.report["main"], {})
    case.check("main: comm from /proc", bool(main.get("comm")), main.get("comm"))
    info = [r for r in doc["results"] if r["command"] == "info threads"]
    case.check("info threads: one result listing every thread",
               len(info) == 1 and len(info[0]["threads"]) == len(doc["threads"]), info[:1])


def check_text(case, ctx, target):
    r = H.run_pyattach(ctx.pyattach, target.proc.pid, ["info", "threads"])
    case.check("text info threads: exit 0", r.rc == 0, r.describe())
    main_tid = target.report["main"]
    rows = {int(H.LWP_RE.search(l).group(1)): l for l in r.stdout.splitlines() if H.LWP_RE.search(l)}
    case.check("text info threads: the hog's row ends in [holds the GIL, blocked in clock_nanosleep(...)]",
               rows.get(main_tid, "").rstrip().endswith("]") and
               "[holds the GIL, blocked in clock_nanosleep(" in rows.get(main_tid, ""), r.stdout)
    reader = target.report["threads"]["reader"]
    fd, inode, _ = target.report["fds"]["reader"]
    case.check("text info threads: the reader's row names its pipe",
               rows.get(reader, "").endswith("[in read(fd=%d -> pipe:[%d])]" % (fd, inode)), rows.get(reader))
    plain = H.run_pyattach(ctx.pyattach, target.proc.pid, ["--all-threads", "py-bt"])
    headers = [l for l in plain.stdout.splitlines() if l.startswith("Thread ")]
    case.check("thread apply headers stay gdb's without --thread-state",
               headers and all(H.HEADER_RE.match(h) for h in headers), "\n".join(headers))
    stated = H.run_pyattach(ctx.pyattach, target.proc.pid, ["--thread-state", "--all-threads", "py-bt"])
    sheaders = [l for l in stated.stdout.splitlines() if l.startswith("Thread ")]
    case.check("--thread-state: every header ends with [state]",
               len(sheaders) == len(headers) and all(h.endswith("]") and "): [" in h for h in sheaders),
               "\n".join(sheaders))


def check_commands(case, ctx, target, validator):
    commands = ["thread apply all py-bt", "thread apply all bt", "thread apply all py-bt-full",
                "thread apply all py-locals"]
    args = []
    for c in commands:
        args += ["-ex", c]
    doc, _ = run_json(case, ctx, target, args, "json -ex x4")
    if doc is None:
        return
    if validator:
        errors = schema_errors(validator, doc)
        case.check("-ex x4 JSON validates against the schema", not errors, "\n".join(errors))
    n = len(doc["threads"])
    for c in commands:
        got = [r for r in doc["results"] if r["command"] == c]
        case.check("%s: one result per thread" % c, sorted(r["thread"] for r in got) == list(range(1, n + 1)),
                   [r.get("thread") for r in got])
    number = {th["tid"]: th["number"] for th in doc["threads"]}[target.report["main"]]
    pybt = [r for r in doc["results"] if r["command"] == "thread apply all py-bt" and r["thread"] == number]
    funcs = [f.get("function") for f in (pybt[0]["frames"] if pybt else []) if f["kind"] == "python"]
    case.check("py-bt of the hog: hog, main, <module>", funcs == ["hog", "main", "<module>"], funcs)
    bt = [r for r in doc["results"] if r["command"] == "thread apply all bt" and r["thread"] == number]
    case.check("bt of the hog: an eval frame runs hog",
               any(f["is_eval"] and any(p.get("function") == "hog" for p in f["python_frames"])
                   for f in (bt[0]["frames"] if bt else [])), bt[:1])
    locals_ = [r for r in doc["results"] if r["command"] == "thread apply all py-locals" and r["thread"] == number]
    hog_frames = [f for f in (locals_[0]["frames"] if locals_ else []) if f.get("function") == "hog"]
    marker = [l["value"] for f in hog_frames for l in (f.get("locals") or []) if l["name"] == "marker"]
    case.check("py-locals of the hog: marker = 'gil-hog' (str, with its address)",
               len(marker) == 1 and marker[0]["repr"] == "'gil-hog'" and marker[0]["type"] == "str"
               and marker[0]["address"].startswith("0x"), marker or hog_frames)
    full = [r for r in doc["results"] if r["command"] == "thread apply all py-bt-full" and r["thread"] == number]
    seconds = [l["value"]["repr"] for f in (full[0]["frames"] if full else []) if f.get("function") == "hog"
               for l in (f.get("locals") or []) if l["name"] == "seconds"]
    case.check("py-bt-full of the hog: seconds = 300", seconds == ["300"], seconds)

    r = H.run_pyattach(ctx.pyattach, target.proc.pid, ["--format", "json", "py-list"])
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    case.check("--format json py-list: usage exit status, error naming py-list, nothing on stdout",
               r.rc == EXIT_USAGE and lines and "py-list" in lines[0] and "JSON" in lines[0]
               and not r.stdout.strip() and len(lines) <= 2, r.describe())


def make_cases(ctx):
    validator, why = load_validator()
    cases = []
    for interp in ctx.interpreters:
        cases.append(make_case(ctx, interp.path, interp.minor, interp.label, validator, why))
    if os.path.exists(STRIPPED):
        cases.append(make_case(ctx, STRIPPED, 11, "debian-stripped-3.11", validator, why))
    return cases


def make_case(ctx, path, minor, label, validator, why):
    def fn(case):
        if validator is None:
            case.check("JSON schema validator available", False, why)
        target = StateTarget(path, ctx.workdir, label)
        try:
            check_states(case, ctx, target, minor, validator)
            check_text(case, ctx, target)
            check_commands(case, ctx, target, validator)
            problems = untouched(target)
            case.check("target running and untraced afterwards", not problems, "\n".join(problems))
        finally:
            target.close()
    return H.Case("thread_state/%s" % label, None, fn, keywords=("state", "json", label), group=label)


if __name__ == "__main__":
    sys.exit(H.main(__doc__.splitlines()[0], make_cases))
