"""Generator and coroutine bodies that block while being driven: a generator
iterated by a for loop, a generator delegated to with yield from, a coroutine
driven by .send(), an asyncio task, and (main thread) a generator expression
consumed by sum().
"""
# SCENARIOS: generator yield_from coroutine send asyncio genexpr
import asyncio
import time

import _common


def counting_generator():
    yield 1
    time.sleep(1e6)  # BLOCK
    yield 2


def generator_worker():
    total = 0
    for value in counting_generator():
        total += value
    return total


def inner_generator():
    yield "a"
    time.sleep(1e6)  # BLOCK
    yield "b"


def outer_generator():
    yield from inner_generator()


def yield_from_worker():
    return list(outer_generator())


async def blocking_coroutine():
    time.sleep(1e6)  # BLOCK


def coroutine_worker():
    coro = blocking_coroutine()
    coro.send(None)


async def task_body():
    await asyncio.sleep(0)
    time.sleep(1e6)  # BLOCK


async def asyncio_main():
    await asyncio.gather(task_body())


def asyncio_worker():
    asyncio.run(asyncio_main())


def slow(x):
    time.sleep(1e6)  # BLOCK
    return x


if __name__ == "__main__":
    _common.start([
        ("generator", generator_worker),
        ("yield_from", yield_from_worker),
        ("coroutine_send", coroutine_worker),
        ("asyncio", asyncio_worker),
    ])
    print(sum(slow(x) for x in range(3)))
