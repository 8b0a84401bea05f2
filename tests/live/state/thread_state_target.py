"""Target for test_thread_state.py (stdlib only, CPython 3.8-3.13).

Starts one thread per state, waits until each is blocked (kernel state S),
writes what it knows to argv[1] (JSON: pid, each role's native thread id, its
fds and their inodes), starts two spinning threads and then holds the GIL in
native code: ctypes.PyDLL(None).sleep() keeps the GIL while libc sleeps, so the
spinners wait for the GIL from then on. faulthandler's watchdog (a C thread
Python does not know) ends the process after MAX_SECONDS even though the GIL
is never released again.
"""
import ctypes
import faulthandler
import json
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "targets"))
from _common import task_state  # noqa: E402

MAX_SECONDS = 300


def spin():
    n = 0
    while True:
        n += 1


def hog(seconds):
    marker = "gil-hog"  # py-locals checks this local
    ctypes.PyDLL(None).sleep(seconds)  # holds the GIL
    return marker


def main():
    ready_path = sys.argv[1]
    devnull = open(os.devnull, "w")
    faulthandler.dump_traceback_later(MAX_SECONDS, exit=True, file=devnull)
    lock = threading.Lock()
    lock.acquire()
    pipe_r, pipe_w = os.pipe()
    sock_a, sock_b = socket.socketpair()
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    roles = {
        "sleeper": (time.sleep, (MAX_SECONDS,)),
        "locker": (lock.acquire, ()),
        "reader": (os.read, (pipe_r, 1)),
        "recv": (sock_a.recv, (1,)),
        "accept": (server.accept, ()),
    }
    threads = {}
    for name, (fn, args) in roles.items():
        t = threading.Thread(target=fn, args=args, name=name, daemon=True)
        t.start()
        threads[name] = t
    known = {t.native_id for t in threads.values()} | {threading.get_native_id()}
    deadline = time.monotonic() + 30
    while any(task_state(t.native_id) != "S" for t in threads.values()):
        if time.monotonic() > deadline:
            sys.exit("threads did not block")
        time.sleep(0.01)
    c_threads = [int(t) for t in os.listdir("/proc/self/task") if int(t) not in known]
    spinners = [threading.Thread(target=spin, name="spin%d" % i, daemon=True) for i in range(2)]
    for t in spinners:
        t.start()
    report = {
        "pid": os.getpid(),
        "main": threading.get_native_id(),
        "threads": {name: t.native_id for name, t in threads.items()},
        "spinners": [t.native_id for t in spinners],
        "c_threads": c_threads,
        "fds": {
            "reader": [pipe_r, os.fstat(pipe_r).st_ino, "pipe"],
            "recv": [sock_a.fileno(), os.fstat(sock_a.fileno()).st_ino, "socket"],
            "accept": [server.fileno(), os.fstat(server.fileno()).st_ino, "socket"],
        },
    }
    with open(ready_path + ".tmp", "w") as f:
        json.dump(report, f)
    os.rename(ready_path + ".tmp", ready_path)
    hog(MAX_SECONDS)
    os._exit(0)


main()
