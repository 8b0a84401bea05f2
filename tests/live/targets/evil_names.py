"""Terminal-escape target (test_escapes.py): a function, a file name, a str
local, a thread name and a dict key holding ANSI escape sequences, newlines and
other control characters, as a hostile program could.

The function is compiled from a string under a file name in this directory
whose name holds the escapes (the file does not exist; linecache serves its
source to the self-report), and renamed with code.replace(co_name=...). The
main thread and a worker thread named with escapes block inside it.
"""
# SCENARIOS: escapes ansi control_characters
# MATRIX: no (gdb prints these names raw; only test_escapes.py uses it)
import linecache
import os
import sys
import threading
import time
import types

import _common

# ESC [ 31 m (red), ESC ] 0 ; title BEL (window title), ESC [ 2 J (clear
# screen), CR, backspace, DEL, a C1 CSI (U+009B), a newline that would fake a
# new output line, and a right-to-left override.
EVIL_NAME = "evil\x1b[31mred\x1b]0;pwned\x07\n  File \"fake.py\", line 1, in fake\rcr\x08\x7f\x9b2J"
EVIL_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                         "evil\x1b[2Jclear\n\x07bell\u202e.py")
EVIL_STR = "ansi\x1b[31mred\x1b[0m\nnew line\rcr\x07bell\x08bs\x7fdel\x9bcsi\x00nul\ttab"
EVIL_THREAD = "worker\x1b[5mblink\n"

SOURCE = '''
def evil(kind):
    evil_local = EVIL_STR
    evil_dict = {EVIL_STR: EVIL_NAME}
    if kind == "sleep":
        while True:
            time.sleep(1e6)  # BLOCK
    else:
        held.acquire()  # BLOCK
'''

held = threading.Lock()
held.acquire()


def make_evil():
    namespace = {"EVIL_STR": EVIL_STR, "EVIL_NAME": EVIL_NAME, "time": time, "held": held}
    lines = SOURCE.splitlines(True)
    linecache.cache[EVIL_FILE] = (len(SOURCE), None, lines, EVIL_FILE)
    exec(compile(SOURCE, EVIL_FILE, "exec"), namespace)
    code = namespace["evil"].__code__
    changes = {"co_name": EVIL_NAME}
    if sys.version_info >= (3, 11):
        changes["co_qualname"] = EVIL_NAME
    return types.FunctionType(code.replace(**changes), namespace, EVIL_NAME)


if __name__ == "__main__":
    evil = make_evil()
    _common.start([(EVIL_THREAD, lambda: evil("lock"))])
    evil("sleep")
