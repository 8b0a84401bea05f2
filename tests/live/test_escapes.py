#!/usr/bin/env python3
"""Live test: what the target names cannot drive the user's terminal.

targets/evil_names.py puts ANSI escape sequences (colour, window title, clear
screen), newlines (one faking a `File "fake.py"` line), CR, BEL, BS, DEL, NUL, a
C1 CSI (U+009B) and a right-to-left override into a function name, a file name,
a str local, a dict and a thread name, and blocks two threads in that function.
On the oldest and the newest interpreter found, one pyattach run of
`info threads`, `thread apply all py-bt`, `thread apply all bt`,
`thread apply all py-bt-full`, `py-locals`, `py-print evil_local`,
`py-print evil_dict`, `py-list` and `thread apply all py-locals` must:
  * print no raw control byte (C0 but newline, DEL, C1, bidi controls) on stdout
    or stderr;
  * show the escaped forms: `File "<escaped file>", line N, in <escaped name>`
    for both threads (name escaped as \\x1b, \\n, ...), the str as the target's
    own repr(), the thread name escaped in `info threads`;
  * never show the fake `File "fake.py"` line as a line of its own.
"""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402

sys.path.insert(0, H.TARGETS_DIR)
import evil_names as E  # noqa: E402  (the names only; its main does not run)

COMMANDS = ["info threads", "thread apply all py-bt", "thread apply all bt",
            "thread apply all py-bt-full", "py-locals", "py-print evil_local",
            "py-print evil_dict", "py-list", "thread apply all py-locals"]
# Raw bytes a terminal may act on: C0 controls but newline, DEL, C1 controls
# (UTF-8 C2 80..C2 9F), and the bidirectional overrides/isolates.
RAW_CONTROL = re.compile(rb"[\x00-\x09\x0b-\x1f\x7f]|\xc2[\x80-\x9f]|"
                         rb"\xe2\x80[\xaa-\xae]|\xe2\x81[\xa6-\xa9]")
BIDI = set(range(0x202A, 0x202F)) | set(range(0x2066, 0x206A))


def terminal_escaped(text):
    """What src/render/escape.h makes of `text`."""
    out = []
    for ch in text:
        o = ord(ch)
        if ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif o < 0x20 or o == 0x7f or 0x80 <= o < 0xa0:
            out.append("\\x%02x" % o)
        elif o in BIDI:
            out.append("\\u%04x" % o)
        else:
            out.append(ch)
    return "".join(out)


def picked_interpreters(interpreters):
    if not interpreters:
        return []
    return [interpreters[0]] if len(interpreters) == 1 else [interpreters[0], interpreters[-1]]


def case_escapes(case, ctx):
    with H.Target(case.interp, "evil_names.py", ctx.workdir) as target:
        args = []
        for c in COMMANDS:
            args += ["-ex", c]
        binary = os.path.abspath(ctx.pyattach)
        import subprocess
        proc = subprocess.run([binary, "-p", str(target.pid)] + args, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=H.PYATTACH_TIMEOUT)
        out, err = proc.stdout, proc.stderr
        text = out.decode("utf-8", "replace")
        case.check("pyattach ran (exit 0 or 1: py-list has no file to show)", proc.returncode in (0, 1),
                   "exit %s\nstderr: %r" % (proc.returncode, err[-800:]))
        for stream, data in (("stdout", out), ("stderr", err)):
            raw = sorted({m.group(0) for m in RAW_CONTROL.finditer(data)})
            case.check("no raw control bytes on %s" % stream, not raw,
                       "found %r in:\n%s" % (raw, H.indent(repr(data[:3000]), "  | ")))
        name, filename = terminal_escaped(E.EVIL_NAME), terminal_escaped(E.EVIL_FILE)
        lines = text.splitlines()
        pybt = [l for l in lines if l.startswith('  File "%s", line ' % filename)
                and l.endswith(", in %s" % name)]
        # py-bt lists each of the two threads once; bt lists them again, indented more.
        case.check("py-bt: both threads' frames in the evil function, escaped", len(pybt) >= 2,
                   "want 2 lines like %r in:\n%s" % ('  File "%s", line N, in %s' % (filename, name),
                                                     H.indent(text[:4000], "  | ")))
        bt = [l for l in lines if l.startswith('    File "%s", line ' % filename)]
        case.check("bt: the evil frames under their eval frames, escaped", len(bt) >= 2,
                   H.indent(text[:4000], "  | "))
        case.check("no faked output line", not any(l.lstrip().startswith('File "fake.py"') for l in lines),
                   H.indent(text[:4000], "  | "))
        local = "local 'evil_local' = %s" % terminal_escaped(repr(E.EVIL_STR))
        case.check("py-print evil_local prints the target's repr()", local in lines,
                   "want %r in:\n%s" % (local, H.indent(text[-3000:], "  | ")))
        case.check("py-print evil_dict prints key and value escaped",
                   any(l.startswith("local 'evil_dict' = {%s: %s}" % (
                       terminal_escaped(repr(E.EVIL_STR)), terminal_escaped(repr(E.EVIL_NAME))))
                       for l in lines), H.indent(text[-3000:], "  | "))
        case.check("info threads: the thread name escaped",
                   '(Python "%s")' % terminal_escaped(E.EVIL_THREAD) in text, H.indent(text[:2000], "  | "))
        case.check("py-bt-full: the escaped function name",
                   any(", for file %s, line " % filename in l and ", in %s (" % name in l for l in lines),
                   H.indent(text[:4000], "  | "))
        errtext = err.decode("utf-8", "replace")
        case.check("py-list names the missing file escaped", filename in errtext or filename in text,
                   "stderr: %r" % errtext[-800:])
        problems = H.check_running(target)
        case.check("target running afterwards", not problems, "\n".join(problems))


def make_cases(ctx):
    if ctx.args.gdb_only:
        return []
    return [H.Case("escapes/%s" % interp.label, interp, lambda c: case_escapes(c, ctx), ["escapes"])
            for interp in picked_interpreters(ctx.interpreters)]


if __name__ == "__main__":
    sys.exit(H.main(__doc__.splitlines()[0], make_cases))
