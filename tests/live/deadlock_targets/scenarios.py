"""Deadlock scenarios for test_deadlock.py (stdlib only, CPython 3.8-3.13).

usage: scenarios.py SCENARIO READY_FILE

Each scenario starts threads that block for good at lines marked ``# WAIT``
after taking locks at lines marked ``# ACQUIRE``. A reporter thread waits until
every scenario thread is asleep (kernel state S) at its ``# WAIT`` line in
several successive snapshots, then writes READY_FILE (JSON) atomically and
exits: the pid, each thread's native id and ident, each lock's id() and the
marked lines of each function, so the test knows the answer as the program
itself knows it. The process exits by itself when its parent dies.
"""

import ctypes
import json
import os
import queue
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "targets"))
from _common import task_state  # noqa: E402

HERE = os.path.abspath(__file__)
MAX_LIFETIME = 900.0
locks = {}      # name -> lock object (reported as id())
threads = {}    # name -> threading.Thread
waiting = []    # names of the threads (or "main") that must sit at a # WAIT line
watchdog_thread = None  # started first by main(); the report names its task too


def marked_lines():
    """{function name: {"acquire": [lines], "wait": [lines]}} from the markers."""
    out = {}
    func = None
    with open(HERE) as f:
        for number, line in enumerate(f, 1):
            stripped = line.strip()
            if stripped.startswith("def "):
                func = stripped[4:stripped.index("(")]
            for kind in ("acquire", "wait"):
                if "# " + kind.upper() in line and func:
                    out.setdefault(func, {"acquire": [], "wait": []})[kind].append(number)
    return out


# --- Scenarios -------------------------------------------------------------

def lock_pair_first():
    with locks["a"]:  # ACQUIRE
        barrier.wait()
        with locks["b"]:  # WAIT
            pass


def lock_pair_second():
    with locks["b"]:  # ACQUIRE
        barrier.wait()
        with locks["a"]:  # WAIT
            pass


def ring_worker(i):
    mine, theirs = locks["r%d" % i], locks["r%d" % ((i + 1) % 3)]
    with mine:  # ACQUIRE
        barrier.wait()
        with theirs:  # WAIT
            pass


def condition_holder():
    with locks["cond"]:  # ACQUIRE
        barrier.wait()
        with locks["x"]:  # WAIT
            pass


def condition_waiter():
    with locks["x"]:  # ACQUIRE
        barrier.wait()
        with locks["cond"]:  # WAIT
            pass


def queue_getter():
    locks["q"].get()  # WAIT


def join_target():
    joiner_holds.wait()
    with locks["m"]:  # WAIT
        pass


def main_joins_while_holding():
    with locks["m"]:  # ACQUIRE
        joiner_holds.set()
        threads["joined"].join()  # WAIT


def main_joins():
    threads["first"].join()  # WAIT


def sleeper():
    time.sleep(1e6)  # WAIT


def lock_holder_sleeping():
    with locks["held"]:  # ACQUIRE
        holder_ready.set()
        time.sleep(1e6)  # WAIT


def lock_waiter():
    holder_ready.wait()
    locks["held"].acquire()  # WAIT


def event_waiter():
    locks["never"].wait()  # WAIT


def gil_holder():
    gil_go.wait()
    ctypes.PyDLL(None).sleep(1000)  # WAIT: PyDLL keeps the GIL while sleeping


def gil_spinner():
    n = 0
    while True:  # WAIT
        n += 1  # WAIT


def gil_lock_spinner():
    with locks["g"]:  # ACQUIRE
        spinner_holds.set()
        n = 0
        while True:  # WAIT
            n += 1  # WAIT


def gil_lock_waiter():
    spinner_holds.wait()
    with locks["g"]:  # WAIT: its holder waits for the GIL
        pass


def main_sleeps():
    time.sleep(1e6)  # WAIT


barrier = None
joiner_holds = threading.Event()
holder_ready = threading.Event()
gil_go = threading.Event()
spinner_holds = threading.Event()


def start(name, fn, *args):
    t = threading.Thread(target=fn, args=args, name=name, daemon=True)
    threads[name] = t
    waiting.append(name)
    t.start()
    return t


def setup(scenario):
    """Starts the scenario's threads; returns what the main thread does next."""
    global barrier
    if scenario in ("lock_pair", "rlock_pair"):
        make = threading.Lock if scenario == "lock_pair" else threading.RLock
        locks.update(a=make(), b=make())
        barrier = threading.Barrier(2)
        start("first", lock_pair_first)
        start("second", lock_pair_second)
        return main_joins
    if scenario == "ring":
        locks.update(r0=threading.Lock(), r1=threading.Lock(), r2=threading.Lock())
        barrier = threading.Barrier(3)
        for i in range(3):
            start("ring%d" % i, ring_worker, i)
        return main_sleeps
    if scenario == "condition":
        locks.update(cond=threading.Condition(), x=threading.Lock())
        barrier = threading.Barrier(2)
        start("cond_holder", condition_holder)
        start("cond_waiter", condition_waiter)
        return main_sleeps
    if scenario == "queue":
        locks.update(q=queue.Queue())
        start("getter", queue_getter)
        return main_sleeps
    if scenario == "join":
        locks.update(m=threading.Lock())
        start("joined", join_target)
        return main_joins_while_holding
    if scenario == "no_deadlock":
        locks.update(held=threading.Lock(), never=threading.Event())
        start("sleeper", sleeper)
        start("holder", lock_holder_sleeping)
        start("waiter", lock_waiter)
        start("event_waiter", event_waiter)
        return main_sleeps
    if scenario == "gil":
        start("gil_holder", gil_holder)
        start("spinner1", gil_spinner)
        start("spinner2", gil_spinner)
        return main_sleeps
    if scenario == "gil_lock":
        # A GIL stall whose victim holds a lock another thread waits for.
        locks.update(g=threading.Lock())
        start("gil_holder", gil_holder)
        start("lock_spinner", gil_lock_spinner)
        start("lock_waiter", gil_lock_waiter)
        return main_sleeps
    sys.exit("unknown scenario %r" % scenario)


# --- Readiness -------------------------------------------------------------


def own_line(frame):
    while frame is not None and os.path.abspath(frame.f_code.co_filename) != HERE:
        frame = frame.f_back
    return frame.f_lineno if frame is not None else None


def all_waiting(wait_lines, idents):
    frames = sys._current_frames()
    for name, ident, native_id in idents:
        if task_state(native_id) != "S" or own_line(frames.get(ident)) not in wait_lines:
            return False
    return True


def report(path, scenario, main_native_id):
    lines = marked_lines()
    wait_lines = {l for f in lines.values() for l in f["wait"]}
    idents = [(n, t.ident, t.native_id) for n, t in threads.items()]
    if "main" in waiting:
        idents.append(("main", threading.main_thread().ident, main_native_id))
    if not scenario.startswith("gil"):
        stable = 0
        deadline = time.monotonic() + 30
        while stable < 4 and time.monotonic() < deadline:
            time.sleep(0.02)
            stable = stable + 1 if all_waiting(wait_lines, idents) else 0
    out = {
        "pid": os.getpid(), "scenario": scenario, "file": HERE,
        "version": list(sys.version_info[:3]),
        "reporter_native_id": threading.get_native_id(),
        # Not a scenario thread, but a task of the process all the same.
        "watchdog_native_id": watchdog_thread.native_id,
        "threads": {n: {"native_id": nid, "ident": ident} for n, ident, nid in idents},
        "locks": {n: hex(id(l)) for n, l in locks.items()},
        # A Condition's own lock, a Queue's mutex: what a wait may name instead.
        "inner_locks": {n: hex(id(l._lock)) for n, l in locks.items()
                        if isinstance(l, threading.Condition)},
        "lines": lines,
    }
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(out, f, indent=1)
    os.replace(tmp, path)
    if scenario.startswith("gil"):
        gil_go.set()


def watchdog(parent):
    deadline = time.monotonic() + MAX_LIFETIME
    while os.getppid() == parent and time.monotonic() < deadline:
        time.sleep(0.2)
    os._exit(3)


def main():
    scenario, path = sys.argv[1], os.path.abspath(sys.argv[2])
    # A C-level watchdog would survive a GIL stall; a Python one cannot run
    # then, so the harness kills the process group (and this ends it otherwise).
    global watchdog_thread
    watchdog_thread = threading.Thread(target=watchdog, args=(os.getppid(),), daemon=True,
                                       name="watchdog")
    watchdog_thread.start()
    then = setup(scenario)
    waiting.append("main")
    threading.Thread(target=report, args=(path, scenario, threading.get_native_id()),
                     name="reporter", daemon=True).start()
    then()


if __name__ == "__main__":
    main()
