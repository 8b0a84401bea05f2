"""Threads blocked on each threading/queue primitive; the main thread blocked
re-acquiring a Lock it already holds.
"""
# SCENARIOS: lock rlock condition queue event sleep join
import queue
import threading
import time

import _common

lock = threading.Lock()
rlock = threading.RLock()
rlock_held = threading.Event()
cond = threading.Condition()
q = queue.Queue()
never = threading.Event()


def lock_waiter():
    lock.acquire()  # BLOCK


def rlock_holder():
    with rlock:
        rlock_held.set()
        never.wait()  # BLOCK


def rlock_waiter():
    rlock_held.wait()
    rlock.acquire()  # BLOCK


def condition_waiter():
    with cond:
        cond.wait()  # BLOCK


def queue_getter():
    q.get()  # BLOCK


def event_waiter():
    never.wait()  # BLOCK


def sleeper():
    time.sleep(1e6)  # BLOCK


def joiner():
    threads_known.wait()
    threads["sleeper"].join()  # BLOCK


threads = {}
threads_known = threading.Event()

if __name__ == "__main__":
    lock.acquire()
    started = _common.start([
        ("lock_waiter", lock_waiter),
        ("rlock_holder", rlock_holder),
        ("rlock_waiter", rlock_waiter),
        ("condition_waiter", condition_waiter),
        ("queue_getter", queue_getter),
        ("event_waiter", event_waiter),
        ("sleeper", sleeper),
        ("joiner", joiner),
    ])
    threads.update((t.name, t) for t in started)
    threads_known.set()
    lock.acquire()  # BLOCK
