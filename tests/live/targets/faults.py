"""Fault-injection target (test_faults.py, test_no_writes.py): deep stacks in
several threads, so that stopping, unwinding and reading it take long enough
for a kill to land in the middle, and a SIGUSR1 handler that records each
delivery.

  * six workers, each 150 Python frames deep in recurse(), blocked on a held
    Lock;
  * the main thread 200 frames deep, blocked in time.sleep (a SIGUSR1 wakes
    it, the handler runs, and PEP 475 resumes the sleep at the same line);
  * on SIGUSR1 the handler appends one line to READY_FILE.usr1. Only the main
    thread accepts SIGUSR1 (the others block it), so that the kernel delivers
    it there and interrupts the sleep: a signal caught by another thread would
    only set CPython's flag, and the handler would wait until the main thread
    woke up by itself.
"""
# SCENARIOS: faults deep_threads sigusr1
# MATRIX: no (deep stacks make gdb slow; only the safety tests use it)
import os
import signal
import sys
import threading
import time

import _common

WORKERS = 6
WORKER_DEPTH = 150
MAIN_DEPTH = 200

held = threading.Lock()
held.acquire()


def on_usr1(signum, frame):
    fd = os.open(os.path.abspath(sys.argv[1]) + ".usr1",
                 os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, b"usr1\n")
    finally:
        os.close(fd)


def recurse(n, block):
    if n == 0:
        block()
    return recurse(n - 1, block)


def wait_on_lock():
    held.acquire()  # BLOCK


def sleep_forever():
    while True:
        time.sleep(1e6)  # BLOCK


def worker():
    recurse(WORKER_DEPTH, wait_on_lock)


if __name__ == "__main__":
    signal.signal(signal.SIGUSR1, on_usr1)
    signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR1])  # inherited by threads
    _common.start([("worker%d" % i, worker) for i in range(WORKERS)])
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGUSR1])
    recurse(MAIN_DEPTH, sleep_forever)
