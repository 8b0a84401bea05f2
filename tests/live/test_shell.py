#!/usr/bin/env python3
"""Live test: the `(pyattach) ` prompt as a person uses it, under a pseudo-terminal.

Per interpreter, on one targets/values.py process:
  * `pyattach -p PID` on a terminal prints the banner and the prompt; the target is
    stopped (every task in state t, traced by pyattach);
  * `help` lists the commands; `py-bt` + Enter prints the main thread's traceback
    (= the self-report); Up-arrow + Enter runs it again; an empty line repeats it;
  * Tab: `py-` Tab Tab lists the py- commands; `py-print ` Tab Tab lists the
    selected frame's locals; `py-lo` Tab completes to py-locals; `py-print main_lo`
    Tab completes the name;
  * Ctrl-C at the prompt and right after a command: `Quit`, a new prompt, the next
    command works and the target stays stopped;
  * `continue`: the target runs (heartbeat advances) until Enter, then is stopped
    again with a fresh view; the same with Ctrl-C instead of Enter;
  * `detach`: the target runs, untraced, while the prompt stays and shows the last
    view; `continue` takes it again;
  * Ctrl-D: `quit`, exit status 0, the target runs on, untraced (TracerPid 0);
    `quit` likewise;
and without a terminal: commands from stdin (`echo py-bt | pyattach -p PID`),
exit status 0, or 1 with the error on stderr for a bad command.

Typing waits ~0.25 s after each prompt, like a person: input sent in the same
instant the prompt appears may be echoed by the terminal before line editing
takes over (noted, not failed).
"""

import os
import pty
import re
import select
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402

TARGET = "values.py"
PROMPT = b"(pyattach) "
HUMAN_DELAY = 0.25
STEP_TIMEOUT = 20.0
PY_COMMANDS = ["py-bt", "py-bt-full", "py-down", "py-list", "py-locals", "py-print", "py-up"]
ALL_COMMANDS = PY_COMMANDS + ["bt", "continue", "detach", "frame", "help", "info", "print", "quit", "thread"]
ANSI_RE = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Za-z0-9]|\x07")


def clean(raw):
    """Terminal output -> lines: escape sequences and bells removed; a line redrawn
    after a carriage return keeps only what was drawn last."""
    text = ANSI_RE.sub(b"", raw).decode("utf-8", "replace")
    lines = []
    for line in text.split("\n"):
        line = line.rstrip("\r")
        if "\r" in line:
            line = line.split("\r")[-1]
        lines.append(line)
    return lines


class Pty:
    """pyattach on a pseudo-terminal."""

    def __init__(self, argv, env):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:       # pty.fork made it a session leader on the terminal
            os.execve(argv[0], argv, env)
        self.status = None
        self.transcript = b""

    def read_until(self, pattern=PROMPT, timeout=STEP_TIMEOUT):
        """Reads until the output ends with `pattern` (bytes) or matches it (regex);
        returns (bytes read, found)."""
        buf = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            r, _, _ = select.select([self.fd], [], [], 0.05)
            if not r:
                if self.poll() is not None and not r:
                    break
                continue
            try:
                data = os.read(self.fd, 65536)
            except OSError:
                break
            if not data:
                break
            buf += data
            self.transcript += data
            if isinstance(pattern, bytes) and buf.endswith(pattern):
                return buf, True
            if not isinstance(pattern, bytes) and pattern.search(buf):
                return buf, True
        return buf, False

    def send(self, data, delay=HUMAN_DELAY):
        time.sleep(delay)
        os.write(self.fd, data)

    def command(self, line, timeout=STEP_TIMEOUT):
        """Types `line` + Enter; returns (output lines without the echo and prompt, found prompt)."""
        self.send(line.encode() + b"\r")
        raw, ok = self.read_until(PROMPT, timeout)
        lines = clean(raw)
        if lines and lines[-1] == PROMPT.decode():
            lines = lines[:-1]
        if lines and lines[0].endswith(line):
            lines = lines[1:]
        return lines, ok

    def poll(self):
        if self.status is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = os.waitstatus_to_exitcode(status)
        return self.status

    def wait(self, timeout=10.0):
        deadline = time.monotonic() + timeout
        while self.poll() is None and time.monotonic() < deadline:
            self.read_until(b"\x00never\x00", 0.1)
        return self.status

    def close(self):
        if self.poll() is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.wait(5)
        try:
            os.close(self.fd)
        except OSError:
            pass


def stopped(target, tracer):
    """Problems if not every task is in state t traced by `tracer`."""
    states = H.proc_task_states(target.pid)
    bad = {t: s for t, s in states.items() if s[0] != "t" or s[1] != tracer}
    return ["task %d: State %s TracerPid %d (want t, %d)" % (t, s[0], s[1], tracer) for t, s in sorted(bad.items())]


def heartbeat_advances(target, seconds=1.0):
    a = target.heartbeat()
    time.sleep(seconds)
    b = target.heartbeat()
    return a is not None and b is not None and b >= a + 2, (a, b)


def shell_env():
    env = dict(os.environ)
    env.update(TERM="xterm", LC_ALL="C.UTF-8", COLUMNS="160", LINES="50")
    env.pop("INPUTRC", None)
    env["EDITRC"] = "/dev/null"   # no user libedit configuration
    env["HOME"] = env.get("HOME", "/tmp")
    return env


def check_pybt(case, what, lines, target):
    main = target.main_thread()
    problem = H.compare_pybt_to_report(H.strip_blank_edges(lines), main, "pyattach")
    case.check("%s: the main thread's traceback (= self-report)" % what, not problem,
               problem + "\n" + H.indent("\n".join(lines), "  | "))


def run_case(case, ctx):
    interp = case.interp
    with H.Target(interp, TARGET, ctx.workdir) as target:
        case.say("  target %s: pid %d, CPython %s" % (target.name, target.pid, target.report["version_string"]))
        main_frame = next(f for f in target.report["threads"] if f["main"])
        nthreads = len(target.report["threads"])
        sh = Pty([ctx.pyattach, "-p", str(target.pid)], shell_env())
        try:
            interactive(case, ctx, target, sh, nthreads)
        finally:
            sh.close()
            with open(os.path.join(ctx.workdir, "shell-%s.transcript" % interp.label.replace("/", "_")), "wb") as f:
                f.write(sh.transcript)
        problems = H.check_running(target)
        case.check("target running and untraced after the session", not problems, "\n".join(problems))

        # --- quit (typed), in a second session
        sh = Pty([ctx.pyattach, "-p", str(target.pid)], shell_env())
        try:
            _, ok = sh.read_until(PROMPT)
            if case.check("second session: prompt", ok, sh.transcript[-500:].decode("utf-8", "replace")):
                sh.send(b"quit\r")
                status = sh.wait()
                case.check("`quit`: exit status 0", status == 0, "status %s" % status)
        finally:
            sh.close()
        problems = H.check_running(target)
        case.check("target running and untraced after `quit`", not problems, "\n".join(problems))

        # --- no terminal: commands from stdin
        stdin_cases(case, ctx, target)


def interactive(case, ctx, target, sh, nthreads):
    raw, ok = sh.read_until(PROMPT, 30)
    lines = clean(raw)
    banner = "Attached to process %d (%d threads, CPython %s)" % (target.pid, nthreads, target.report["version_string"])
    if not case.check("the prompt appears after the banner", ok and lines[-1] == PROMPT.decode()
                      and any(l.startswith("Attached to process %d " % target.pid) for l in lines),
                      "\n".join(lines[-5:])):
        return
    case.check("the banner says: %s" % banner, any(l.startswith(banner) for l in lines), "\n".join(lines[-5:]))
    problems = stopped(target, sh.pid)
    case.check("target stopped while the prompt is open (all tasks t, traced by pyattach)", not problems,
               "\n".join(problems))

    out, ok = sh.command("help")
    missing = [c for c in ALL_COMMANDS if not any(re.match(r"^  (\S+, )*%s[ ,]" % re.escape(c), l) for l in out)]
    case.check("help lists every command", ok and not missing, "missing %s in:\n%s" % (missing, "\n".join(out)))

    out, ok = sh.command("py-bt")
    check_pybt(case, "py-bt + Enter", out, target)

    # History: Up arrow recalls py-bt; Enter runs it.
    sh.send(b"\x1b[A")
    raw, _ = sh.read_until(re.compile(rb"py-bt\s*$"), 5)
    sh.send(b"\r")
    raw2, ok = sh.read_until(PROMPT)
    out = clean(raw + raw2)[1:-1]
    check_pybt(case, "Up arrow + Enter (history)", out, target)
    out, ok = sh.command("")
    check_pybt(case, "an empty line repeats the last command", out, target)

    # Tab completion of command names.
    sh.send(b"py-\t")
    sh.read_until(re.compile(rb"py-$"), 2)
    sh.send(b"\t")
    raw, _ = sh.read_until(re.compile(rb"\(pyattach\) py-$"), 5)
    listed = set(w for l in clean(raw) for w in l.split())
    case.check("`py-` Tab Tab lists the py- commands", set(PY_COMMANDS) <= listed,
               "listed: %s" % sorted(listed))
    sh.send(b"\x15")            # Ctrl-U: clear the line
    sh.read_until(b"\x00never\x00", 0.3)

    # Tab completion of py-print names (the selected frame: main_inner).
    sh.send(b"py-print \t")
    sh.read_until(re.compile(rb"py-print $"), 2)
    sh.send(b"\t")
    raw, _ = sh.read_until(re.compile(rb"\(pyattach\) py-print $"), 5)
    listed = set(w for l in clean(raw) for w in l.split())
    want = {"arg", "lst", "main_local"}
    case.check("`py-print ` Tab Tab lists the selected frame's locals (%s)" % ", ".join(sorted(want)),
               want <= listed, "listed: %s" % sorted(listed))
    sh.send(b"\x15")
    sh.read_until(b"\x00never\x00", 0.3)

    sh.send(b"py-lo\t")
    raw, completed = sh.read_until(re.compile(rb"cals ?$"), 5)
    sh.send(b"\r")
    raw2, ok = sh.read_until(PROMPT)
    out = clean(raw2)
    case.check("`py-lo` Tab completes to py-locals; Enter runs it", completed and
               "arg = 'local value'" in out, "\n".join(clean(raw + raw2)))

    sh.send(b"py-print main_lo\t")
    raw, completed = sh.read_until(re.compile(rb"cal ?$"), 5)
    sh.send(b"\r")
    raw2, ok = sh.read_until(PROMPT)
    case.check("`py-print main_lo` Tab completes the name; Enter prints it", completed and
               "local 'main_local' = {'arg': 'local value'}" in clean(raw2), "\n".join(clean(raw + raw2)))

    # Ctrl-C at the prompt.
    sh.send(b"\x03")
    raw, ok = sh.read_until(PROMPT, 5)
    case.check("Ctrl-C at the prompt: Quit and a new prompt", ok and "Quit" in clean(raw), "\n".join(clean(raw)))
    problems = stopped(target, sh.pid)
    case.check("after Ctrl-C at the prompt the target is still stopped", not problems, "\n".join(problems))
    out, ok = sh.command("py-bt")
    check_pybt(case, "py-bt after Ctrl-C at the prompt", out, target)

    # Ctrl-C while a command runs.
    sh.send(b"thread apply all py-bt-full\r")
    sh.send(b"\x03", delay=0.005)
    raw, ok = sh.read_until(PROMPT, STEP_TIMEOUT)
    case.check("Ctrl-C during a command: the prompt comes back", ok, "\n".join(clean(raw)[-5:]))
    problems = stopped(target, sh.pid)
    case.check("after Ctrl-C during a command the target is still stopped", not problems, "\n".join(problems))
    out, ok = sh.command("py-bt")
    check_pybt(case, "py-bt after Ctrl-C during a command", out, target)

    # continue, then Enter.
    sh.send(b"continue\r")
    raw, ok = sh.read_until(re.compile(rb"Continuing.*\n"), 10)
    runs, hb = heartbeat_advances(target)
    case.check("`continue`: the target runs (heartbeat %s -> %s)" % hb, ok and runs, "\n".join(clean(raw)))
    sh.send(b"\r")
    raw, ok = sh.read_until(PROMPT)
    out = clean(raw)
    case.check("Enter stops it again: 'Stopped %d threads.' and the prompt" % nthreads,
               ok and any(l.endswith("Stopped %d threads." % nthreads) for l in out), "\n".join(out))
    problems = stopped(target, sh.pid)
    case.check("after continue + Enter the target is stopped", not problems, "\n".join(problems))
    hb_before = target.heartbeat()
    time.sleep(0.3)
    case.check("... and stays stopped (heartbeat does not advance)", target.heartbeat() == hb_before,
               "heartbeat %s -> %s" % (hb_before, target.heartbeat()))
    out, ok = sh.command("py-bt")
    check_pybt(case, "py-bt after continue (fresh view)", out, target)
    out, ok = sh.command("info threads")
    rows = [l for l in out if re.match(r"^[* ] +\d+ +Thread ", l)]
    case.check("info threads after continue: one row per task", len(rows) == len(target.tids()), "\n".join(out))

    # continue, then Ctrl-C.
    sh.send(b"continue\r")
    raw, ok = sh.read_until(re.compile(rb"Continuing.*\n"), 10)
    runs, hb = heartbeat_advances(target, 0.5)
    sh.send(b"\x03")
    raw, ok = sh.read_until(PROMPT)
    out = clean(raw)
    case.check("continue, then Ctrl-C: the target ran and is stopped again with a prompt",
               runs and ok and any(l.endswith("Stopped %d threads." % nthreads) for l in out), "\n".join(out))
    problems = stopped(target, sh.pid)
    case.check("after continue + Ctrl-C the target is stopped", not problems, "\n".join(problems))

    # detach: the target runs untraced; the last view stays.
    out, ok = sh.command("detach")
    case.check("`detach` answers like gdb: [Inferior 1 (process %d) detached]" % target.pid,
               ok and "[Inferior 1 (process %d) detached]" % target.pid in out, "\n".join(out))
    problems = H.check_running(target)
    case.check("after `detach` the target runs, untraced", not problems, "\n".join(problems))
    out, ok = sh.command("py-bt")
    check_pybt(case, "py-bt after detach (the last view)", out, target)
    sh.send(b"continue\r")
    raw, ok = sh.read_until(re.compile(rb"Continuing.*\n"), 10)
    sh.send(b"\r")
    raw, ok = sh.read_until(PROMPT)
    problems = stopped(target, sh.pid)
    case.check("after detach, continue + Enter takes the target again", ok and not problems,
               "\n".join(clean(raw)) + "\n" + "\n".join(problems))

    # Ctrl-D: quit.
    sh.send(b"\x04")
    raw, _ = sh.read_until(re.compile(rb"quit"), 5)
    status = sh.wait()
    case.check("Ctrl-D: prints quit, exit status 0", status == 0 and "quit" in "".join(clean(raw)),
               "status %s, output %r" % (status, clean(raw)))
    tracers = {s[1] for s in H.proc_task_states(target.pid).values()}
    case.check("after Ctrl-D every task has TracerPid 0", tracers == {0}, "TracerPids %s" % tracers)
    # Input typed at the very instant a prompt appeared, echoed by the terminal
    # before line editing took over (see the docstring): note it.
    echoes = len(re.findall(rb"(py-bt|py-lo\t|quit)\r?\n?\1", sh.transcript))
    if echoes:
        case.say("  note  %d input(s) echoed twice" % echoes)


def stdin_cases(case, ctx, target):
    def run(text):
        start = time.monotonic()
        p = subprocess.run([ctx.pyattach, "-p", str(target.pid)], input=text.encode(), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=H.PYATTACH_TIMEOUT)
        return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace"), \
            time.monotonic() - start

    rc, out, err, secs = run("py-bt\n")
    case.check("echo py-bt | pyattach -p PID: exit 0 (%.1fs)" % secs, rc == 0, "rc %s, stderr %r" % (rc, err))
    check_pybt(case, "echo py-bt | pyattach -p PID", out.split("\n"), target)
    problems = H.check_running(target)
    case.check("target running after commands from stdin", not problems, "\n".join(problems))

    rc, out, err, _ = run("info threads\nthread apply all py-bt\n")
    rows = [l for l in out.split("\n") if re.match(r"^[* ] +\d+ +Thread ", l)]
    _, sections = H.parse_thread_sections(out.split("\n")[len(rows) + 1:])
    case.check("two commands from stdin: info threads and thread apply all py-bt, exit 0",
               rc == 0 and len(rows) == len(target.tids()) and len(sections) == len(target.tids()),
               "rc %s\n%s\nstderr: %s" % (rc, out[:1500], err))

    rc, out, err, _ = run("frobnicate\npy-bt\n")
    errs = [l for l in err.split("\n") if l.strip()]
    case.check("a bad command from stdin: its error on stderr, the next command still runs, exit 1",
               rc == 1 and errs == ['Undefined command: "frobnicate".  Try "help".'] and "Traceback" in out,
               "rc %s\nstdout: %s\nstderr: %s" % (rc, out[:500], err))
    problems = H.check_running(target)
    case.check("target running after the stdin runs", not problems, "\n".join(problems))


def make_cases(ctx):
    return [H.Case("shell/%s/values" % i.label, i, lambda c: run_case(c, ctx), H.target_keywords(TARGET))
            for i in ctx.interpreters]


if __name__ == "__main__":
    sys.exit(H.main(__doc__.splitlines()[0], make_cases))
