"""Classic lock-order deadlock: two threads each hold one Lock in a with block
and wait for the other's; the main thread joins the first one.
"""
# SCENARIOS: deadlock with_lock join
import threading

import _common

lock_a = threading.Lock()
lock_b = threading.Lock()
both_held = threading.Barrier(2)


def take_a_then_b():
    with lock_a:
        both_held.wait()
        with lock_b:  # BLOCK
            pass


def take_b_then_a():
    with lock_b:
        both_held.wait()
        with lock_a:  # BLOCK
            pass


if __name__ == "__main__":
    first, _ = _common.start([("a_then_b", take_a_then_b), ("b_then_a", take_b_then_a)])
    first.join()  # BLOCK
