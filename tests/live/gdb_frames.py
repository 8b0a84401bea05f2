# Sourced into gdb *after* python3.X-gdb.py by the live tests (harness.run_gdb).
# Defines the command `pyattach-frames`, which prints one line
#   PYATTACH-FRAMES-JSON [{"lwp": ..., "num": ..., "frames": [...]}, ...]
# where frames (innermost first) are {"name", "inline", "pc", "python"}: "python"
# is, for a _PyEval_EvalFrameDefault frame, the text python-gdb.py's own
# Frame.print_traceback() prints for it, i.e. the Python frames that C frame runs.
import io
import json
import sys

import gdb


class PyattachFrames(gdb.Command):
    """Dump every thread's native frames with python-gdb.py's Python frames per eval frame."""

    def __init__(self):
        super().__init__("pyattach-frames", gdb.COMMAND_USER)

    def invoke(self, arg, from_tty):
        pyframe = globals().get("Frame")  # python-gdb.py's wrapper class
        result = []
        selected = gdb.selected_thread()
        for thread in gdb.selected_inferior().threads():
            thread.switch()
            frames = []
            try:
                frame = gdb.newest_frame()
            except gdb.error:
                frame = None
            while frame is not None and len(frames) < 10000:
                entry = {"name": frame.name(), "inline": frame.type() == gdb.INLINE_FRAME,
                         "pc": frame.pc(), "python": None}
                if pyframe is not None:
                    wrapped = pyframe(frame)
                    if wrapped.is_evalframe():
                        saved, sys.stdout = sys.stdout, io.StringIO()
                        try:
                            wrapped.print_traceback()
                            entry["python"] = sys.stdout.getvalue()
                        except Exception as e:  # keep going; the test reports it
                            entry["python"] = "<python-gdb.py error: %r>" % (e,)
                        finally:
                            sys.stdout = saved
                frames.append(entry)
                try:
                    frame = frame.older()
                except gdb.error:
                    break
            result.append({"lwp": thread.ptid[1], "num": thread.num, "frames": frames})
        if selected is not None:
            selected.switch()
        print("PYATTACH-FRAMES-JSON " + json.dumps(result))


PyattachFrames()
