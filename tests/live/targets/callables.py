"""Unusual code objects blocking: a lambda, a method, a nested function using a
closure, a staticmethod, and (main thread) a property getter.
"""
# SCENARIOS: lambda method closure nested staticmethod property
import time

import _common

blocking_lambda = lambda: time.sleep(1e6)  # BLOCK


class C:
    def m(self):
        time.sleep(1e6)  # BLOCK

    @staticmethod
    def s():
        time.sleep(1e6)  # BLOCK

    @property
    def p(self):
        time.sleep(1e6)  # BLOCK
        return 1


def lambda_worker():
    blocking_lambda()


def method_worker():
    C().m()


def make_closure(seconds):
    def inner():
        time.sleep(seconds)  # BLOCK
    return inner


def closure_worker():
    make_closure(1e6)()


def staticmethod_worker():
    C.s()


if __name__ == "__main__":
    _common.start([
        ("lambda", lambda_worker),
        ("method", method_worker),
        ("closure", closure_worker),
        ("staticmethod", staticmethod_worker),
    ])
    print(C().p)
