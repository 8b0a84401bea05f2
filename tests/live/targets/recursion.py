"""Deep recursion: the main thread 100 frames deep in recurse() then blocked in
time.sleep; a worker 30 frames deep in a second recursive function, blocked
in Lock.acquire; and faulthandler's watchdog, a C thread with no Python frames.
"""
# SCENARIOS: recursion deep_recursion sleep faulthandler native_thread
import faulthandler
import threading
import time

import _common

held = threading.Lock()
held.acquire()


def recurse(n):
    if n == 0:
        time.sleep(1e6)  # BLOCK
    recurse(n - 1)


def recurse_in_thread(n):
    if n == 0:
        held.acquire()  # BLOCK
    return recurse_in_thread(n - 1) + 1


def worker():
    recurse_in_thread(29)


if __name__ == "__main__":
    # A C-level watchdog thread: gdb's py-bt says "Unable to locate python frame".
    faulthandler.dump_traceback_later(1e6)
    _common.start([("recursion_worker", worker)])
    recurse(99)
