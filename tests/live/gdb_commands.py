# Sourced into gdb *after* python3.X-gdb.py by test_commands.py.  Helper commands
# that let one batch run of gdb play the same command script as pyattach:
#
#   pyattach-thread-lwp LWP     run gdb's own `thread N` for the thread whose LWP is LWP
#   pyattach-try CMD            run CMD; print its output, or "ERROR: <gdb's message>"
#                               (gdb -batch prints errors on stderr, out of order)
#   pyattach-quiet CMD          run CMD and print nothing (e.g. the py-up that
#                               python-gdb.py needs before py-locals, see test_commands.py)
#   pyattach-select-eval K      select the K-th (0 = newest) real, non-inlined
#                               _PyEval_EvalFrameDefault frame of the selected thread
#                               and print gdb's own `frame N` output for it
#   pyattach-then CMD1 ;; CMD2  run CMD1 quietly, then CMD2 (for `thread apply all`)
import gdb


def _execute(cmd):
    try:
        return gdb.execute(cmd, to_string=True), None
    except gdb.error as e:
        return None, str(e)


class ThreadLwp(gdb.Command):
    """pyattach-thread-lwp LWP: `thread N` for the thread with that LWP."""

    def __init__(self):
        super().__init__("pyattach-thread-lwp", gdb.COMMAND_USER)

    def invoke(self, arg, from_tty):
        lwp = int(arg)
        for t in gdb.selected_inferior().threads():
            if t.ptid[1] == lwp:
                out, err = _execute("thread %d" % t.num)
                print(out.rstrip("\n") if err is None else "ERROR: " + err)
                return
        print("ERROR: no thread with LWP %d" % lwp)


class Try(gdb.Command):
    """pyattach-try CMD: run CMD, print its output or ERROR: message."""

    def __init__(self):
        super().__init__("pyattach-try", gdb.COMMAND_USER)

    def invoke(self, arg, from_tty):
        out, err = _execute(arg)
        if err is None:
            gdb.write(out)
        else:
            print("ERROR: " + err)


class Quiet(gdb.Command):
    """pyattach-quiet CMD: run CMD, print nothing."""

    def __init__(self):
        super().__init__("pyattach-quiet", gdb.COMMAND_USER)

    def invoke(self, arg, from_tty):
        _execute(arg)


class Then(gdb.Command):
    """pyattach-then CMD1 ;; CMD2: run CMD1 quietly, then CMD2."""

    def __init__(self):
        super().__init__("pyattach-then", gdb.COMMAND_USER)

    def invoke(self, arg, from_tty):
        first, second = arg.split(";;", 1)
        _execute(first.strip())
        out, err = _execute(second.strip())
        gdb.write(out if err is None else "ERROR: %s\n" % err)


class SelectEval(gdb.Command):
    """pyattach-select-eval K: select the K-th real eval frame (0 = newest)."""

    def __init__(self):
        super().__init__("pyattach-select-eval", gdb.COMMAND_USER)

    def invoke(self, arg, from_tty):
        k = int(arg)
        frame = gdb.newest_frame()
        level = 0
        seen = 0
        while frame is not None:
            if frame.name() == "_PyEval_EvalFrameDefault" and frame.type() == gdb.NORMAL_FRAME:
                if seen == k:
                    out, err = _execute("frame %d" % level)
                    print(out.rstrip("\n") if err is None else "ERROR: " + err)
                    print("pyattach-pc %#x" % frame.pc())
                    return
                seen += 1
            frame = frame.older()
            level += 1
        print("ERROR: no eval frame %d" % k)


ThreadLwp()
Try()
Quiet()
Then()
SelectEval()
