"""Python functions called back from C: sorted(key=f), functools.reduce(f),
and (main thread) map() consumed by list().
"""
# SCENARIOS: sorted reduce map c_callback
import functools
import time

import _common


def blocking_key(x):
    time.sleep(1e6)  # BLOCK
    return x


def sort_worker():
    return sorted([3, 1, 2], key=blocking_key)


def blocking_add(a, b):
    time.sleep(1e6)  # BLOCK
    return a + b


def reduce_worker():
    return functools.reduce(blocking_add, [1, 2, 3])


def blocking_double(x):
    time.sleep(1e6)  # BLOCK
    return 2 * x


if __name__ == "__main__":
    _common.start([("sorted_key", sort_worker), ("reduce", reduce_worker)])
    print(list(map(blocking_double, [1, 2])))
