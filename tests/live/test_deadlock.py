#!/usr/bin/env python3
"""Live tests of `pyattach -p PID deadlock` on the scenarios of
deadlock_targets/scenarios.py, on every interpreter the harness finds and on
Debian's stripped /usr/bin/python3.11 with its separate debug files hidden
(PYATTACH_DEBUG_DIRS=/nonexistent).

Each scenario's target reports, as the program itself knows them, its threads'
native ids, id() of each lock and the lines marked # ACQUIRE / # WAIT; the
test checks the exact cycles (threads in order, the lock each waits for by
address, the line where each waits, the holder, exact or inferred, and the
line where the holder acquired it), the threads waiting behind a cycle, the
"No deadlock found." answer and the exit status (11 deadlock, 0 none). Two
GIL scenarios: a thread holding the GIL in ctypes.PyDLL(None).sleep with
others waiting for the GIL behind it, and the same stall whose victim holds a
Lock (in a `with` block) that another thread waits for.

Every scenario is also run with `--format json deadlock`: the document must
validate against docs/pyattach-output.schema.json and say what the text says
(same cycles, edges, holders, lines, GIL stall, exit status).
"""

import json
import os
import re
import subprocess
import sys
import time

import harness

SCRIPT = os.path.join(harness.LIVE_DIR, "deadlock_targets", "scenarios.py")
DEBIAN_STRIPPED = "/usr/bin/python3.11"
EXIT_DEADLOCK = 11

# ----------------------------------------------------------------------------
# Targets


class ScenarioTarget(harness.Target):
    """A deadlock_targets/scenarios.py scenario; its report names threads and locks."""

    def __init__(self, interp, scenario, workdir):
        super().__init__(interp, SCRIPT, workdir, args=[scenario])
        self.scenario = scenario

    def reported_tids(self):
        return ({t["native_id"] for t in self.report["threads"].values()} |
                {self.report["watchdog_native_id"]})

    def settle(self, deadline):
        if self.scenario.startswith("gil"):
            # The holder takes the GIL after the report; wait until it sleeps
            # in the C call and every other thread is asleep too.
            self.wait_all_asleep(deadline)

    def wait_all_asleep(self, deadline):
        holder = self.report["threads"]["gil_holder"]["native_id"]
        stable = 0
        while stable < 10:
            states = harness.proc_task_states(self.proc.pid)
            wchan = ""
            try:
                with open("/proc/%d/task/%d/syscall" % (self.proc.pid, holder)) as f:
                    wchan = f.read().split()[0]
            except OSError:
                pass
            # clock_nanosleep (230) or nanosleep (35) in the holder.
            ok = wchan in ("230", "35") and all(s[0] == "S" for s in states.values())
            stable = stable + 1 if ok else 0
            if time.monotonic() > deadline:
                raise harness.TargetError("gil scenario never settled: %s" % states)
            time.sleep(0.02)

    def lwp(self, name):
        return self.report["threads"][name]["native_id"]

    def lock(self, name):
        return int(self.report["locks"][name], 16)

    def line(self, func, kind):
        lines = self.report["lines"][func][kind]
        assert len(lines) == 1, (func, kind, lines)
        return lines[0]


def untouched(target):
    """The target is alive and no task is stopped or traced (its heartbeat may
    not run: a GIL stall stops every Python thread)."""
    if target.proc.poll() is not None:
        return ["target exited with %s" % target.proc.returncode]
    bad = {t: s for t, s in harness.proc_task_states(target.proc.pid).items()
           if s[0] in "tTZX" or s[1] != 0}
    return ["tasks stopped/traced: %s" % bad] if bad else []


# ----------------------------------------------------------------------------
# The report's text

THREAD = r'Thread (\d+) \(LWP (\d+), "(?:[^"\\]|\\.)*"\)'
EDGE_RE = re.compile(r"^  " + THREAD + r" waits for (.*?)(?: \[found by: ([^\]]+)\])?$")
AT_RE = re.compile(r"^      waits at (.*):(\d+|\?), in (\S+)$")
HELD_RE = re.compile(r"^      held by " + THREAD + r" \[(exact|inferred): ([^\]]+)\]$")
ACQ_RE = re.compile(r"^      acquired at (.*):(\d+), in (\S+)$")
ACQ_IN_RE = re.compile(r"^      acquired in (\S+) \((.*)\), now at line (\d+|\?)$")
THROUGH_RE = re.compile(r"^      through (.*)$")
GIL_RE = re.compile(r"^GIL stall: " + THREAD + " holds the GIL while blocked in native code")
GIL_WAITERS_RE = re.compile(r"^  waiting for the GIL behind it: (.*)$")
BEHIND_GIL_RE = re.compile(r"^" + THREAD + r" waits for a lock held by " + THREAD +
                           r", which waits for the GIL$")


def parse_report(text):
    """{"cycles": [[edge...]...], "behind": [...], "other": [...], "no_deadlock": bool,
    "gil_holder": lwp or None, "gil_waiters": [lwp...]}; edge = dict."""
    out = {"cycles": [], "behind": [], "other": [], "no_deadlock": False,
           "gil_holder": None, "gil_waiters": [], "held_by_gil_waiter": [], "unparsed": []}
    section = None
    edge = None
    for line in text.splitlines():
        if not line.strip():
            continue
        if line.startswith("Deadlock "):
            out["cycles"].append([])
            section = out["cycles"][-1]
            continue
        if line.startswith("Waiting on a deadlock without"):
            section = out["behind"]
            continue
        if line in ("Other waiting threads:", "Waiting threads:"):
            section = out["other"]
            continue
        if line == "No deadlock found.":
            out["no_deadlock"] = True
            continue
        m = GIL_RE.match(line)
        if m:
            out["gil_holder"] = int(m.group(2))
            section = None
            continue
        m = GIL_WAITERS_RE.match(line)
        if m:
            out["gil_waiters"] = [int(x) for x in re.findall(r"\(LWP (\d+),", m.group(1))]
            continue
        m = BEHIND_GIL_RE.match(line)
        if m:
            out["held_by_gil_waiter"].append((int(m.group(2)), int(m.group(4))))
            section, edge = None, None
            continue
        m = EDGE_RE.match(line)
        if m and section is not None:
            lock = re.search(r"at remote (0x[0-9a-f]+)>$", m.group(3))
            edge = {"lwp": int(m.group(2)), "what": m.group(3),
                    "lock": int(lock.group(1), 16) if lock else None,
                    "evidence": m.group(4), "through": "", "holder": None}
            section.append(edge)
            continue
        if edge is not None:
            for regex, key in ((AT_RE, "at"), (HELD_RE, "held"), (ACQ_RE, "acq"),
                               (ACQ_IN_RE, "acq_in"), (THROUGH_RE, "through")):
                m = regex.match(line)
                if m:
                    if key == "at":
                        edge["wait_line"] = (m.group(1), m.group(2), m.group(3))
                    elif key == "held":
                        edge["holder"] = int(m.group(2))
                        edge["certainty"] = m.group(3)
                        edge["how"] = m.group(4)
                    elif key == "acq":
                        edge["acquired"] = (m.group(1), m.group(2), m.group(3))
                    elif key == "acq_in":
                        edge["acquired"] = (m.group(2), None, m.group(1))
                    else:
                        edge["through"] = m.group(1)
                    break
            else:
                if line.strip() not in ("holder unknown",) and not line.startswith("      joining"):
                    out["unparsed"].append(line)
    return out


def json_edge(e):
    """A wait_edge of the JSON report in parse_report's shape."""
    def place(p, line_as_text=True):
        if p is None:
            return None
        line = p["line"]
        return (p["file"], str(line) if line is not None else (None if not line_as_text else "?"),
                p["function"])
    out = {"lwp": e["tid"], "lock": int(e["lock"]["address"], 16) if e["lock"] else None,
           "evidence": e["evidence"],
           "through": ", ".join("%s.%s() of <%s object at remote %s>" % (
               w["type"], w["method"], w["type"], w["address"]) for w in e["through"]),
           "holder": e["holder"]["tid"] if e["holder"] else None}
    if e["waits_at"]:
        out["wait_line"] = place(e["waits_at"])
    if e["holder"]:
        out["certainty"] = e["holder"]["certainty"]
        out["how"] = e["holder"]["how"]
        if e["holder"]["acquired_at"]:
            out["acquired"] = place(e["holder"]["acquired_at"], line_as_text=False)
    return out


def report_from_json(d):
    """The `deadlock` result of a --format json document in parse_report's shape."""
    gil = d["gil_stall"]
    return {"cycles": [[json_edge(e) for e in c] for c in d["cycles"]],
            "behind": [json_edge(e) for e in d["behind_cycles"]],
            "other": [json_edge(e) for e in d["other_waits"]],
            "no_deadlock": not d["deadlocked"],
            "gil_holder": gil["holder"]["tid"] if gil else None,
            "gil_waiters": [w["tid"] for w in gil["waiters"]] if gil else [],
            "held_by_gil_waiter": [(x["waiter"]["tid"], x["holder"]["tid"])
                                   for x in d["held_by_gil_waiter"]],
            "unparsed": []}


def comparable(report):
    """What text and JSON must agree on (the text keeps only what it prints)."""
    keys = ("lwp", "lock", "evidence", "through", "holder", "wait_line", "certainty", "how",
            "acquired")
    def edge(e):
        return {k: e.get(k) for k in keys}
    return {"cycles": [[edge(e) for e in c] for c in report["cycles"]],
            "behind": [edge(e) for e in report["behind"]],
            "other": [edge(e) for e in report["other"]],
            "no_deadlock": report["no_deadlock"], "gil_holder": report["gil_holder"],
            "gil_waiters": report["gil_waiters"],
            "held_by_gil_waiter": report["held_by_gil_waiter"]}


# ----------------------------------------------------------------------------
# Expectations


def expect_edge(t, waiter, waiter_func, lock=None, holder=None, certainty=None,
                holder_func=None, through=None, lock_any=False):
    """What the report must say about one waiting thread."""
    e = {"lwp": t.lwp(waiter), "name": waiter,
         "wait_line": (t.report["file"], str(t.line(waiter_func, "wait")), waiter_func)}
    e["lock"] = None if lock_any else lock
    e["lock_any"] = lock_any
    e["holder"] = t.lwp(holder) if holder else None
    e["certainty"] = certainty
    e["acquired"] = ((t.report["file"], str(t.line(holder_func, "acquire")), holder_func)
                     if holder_func else None)
    e["through"] = through
    return e


def edge_problems(got, want):
    problems = []
    if got.get("wait_line") != want["wait_line"]:
        problems.append("waits at %s, want %s" % (got.get("wait_line"), want["wait_line"]))
    if not want["lock_any"] and got["lock"] != want["lock"]:
        problems.append("lock %s, want %s" % (got["lock"] and hex(got["lock"]),
                                             want["lock"] and hex(want["lock"])))
    if got["holder"] != want["holder"]:
        problems.append("holder LWP %s, want %s" % (got["holder"], want["holder"]))
    if want["holder"] and got.get("certainty") != want["certainty"]:
        problems.append("holder %s, want %s" % (got.get("certainty"), want["certainty"]))
    if want["acquired"] and got.get("acquired") != want["acquired"]:
        problems.append("acquired at %s, want %s" % (got.get("acquired"), want["acquired"]))
    if want["through"] and want["through"] not in got["through"]:
        problems.append("through %r, want it to name %r" % (got["through"], want["through"]))
    return problems


def check_edges(case, what, got_edges, want_edges, ordered_cycle=False):
    by_lwp = {e["lwp"]: e for e in got_edges}
    ok = case.check("%s: threads %s" % (what, sorted(w["name"] for w in want_edges)),
                    sorted(by_lwp) == sorted(w["lwp"] for w in want_edges),
                    "got LWPs %s, want %s" % (sorted(by_lwp), sorted(w["lwp"] for w in want_edges)))
    if ordered_cycle and ok:
        # Each one's holder is the next one's waiter.
        chain = [e["holder"] for e in got_edges]
        case.check("%s: each holder is the next waiter" % what,
                   chain == [e["lwp"] for e in got_edges[1:] + got_edges[:1]], str(chain))
    for w in want_edges:
        got = by_lwp.get(w["lwp"])
        if got is None:
            continue
        problems = edge_problems(got, w)
        case.check("%s: %s waits and is held as expected" % (what, w["name"]), not problems,
                   "\n".join(problems))


def expectations(t):
    """(cycles: [[edge...]], behind: [edge...], other: [edge...], exit status)."""
    s = t.scenario
    v13 = t.interp.minor >= 13
    if s in ("lock_pair", "rlock_pair"):
        cert = "inferred" if s == "lock_pair" else "exact"
        cycle = [expect_edge(t, "first", "lock_pair_first", t.lock("b"), "second", cert,
                             "lock_pair_second"),
                 expect_edge(t, "second", "lock_pair_second", t.lock("a"), "first", cert,
                             "lock_pair_first")]
        behind = [expect_edge(t, "main", "main_joins", None, "first", "exact",
                              through="threading.Thread.join()", lock_any=True)]
        return [cycle], behind, [], EXIT_DEADLOCK
    if s == "ring":
        cycle = [expect_edge(t, "ring%d" % i, "ring_worker", t.lock("r%d" % ((i + 1) % 3)),
                             "ring%d" % ((i + 1) % 3), "inferred", "ring_worker")
                 for i in range(3)]
        return [cycle], [], [], EXIT_DEADLOCK
    if s == "condition":
        cycle = [expect_edge(t, "cond_holder", "condition_holder", t.lock("x"), "cond_waiter",
                             "inferred", "condition_waiter"),
                 expect_edge(t, "cond_waiter", "condition_waiter",
                             int(t.report["inner_locks"]["cond"], 16), "cond_holder", "exact",
                             "condition_holder",
                             through="threading.Condition.__enter__() of <threading.Condition "
                                     "object at remote %s>" % t.report["locks"]["cond"])]
        return [cycle], [], [], EXIT_DEADLOCK
    if s == "queue":
        other = [expect_edge(t, "getter", "queue_getter", lock_any=True,
                             through="queue.Queue.get() of <queue.Queue object at remote %s>"
                                     % t.report["locks"]["q"])]
        return [], [], other, 0
    if s == "join":
        cycle = [expect_edge(t, "joined", "join_target", t.lock("m"), "main", "inferred",
                             "main_joins_while_holding"),
                 expect_edge(t, "main", "main_joins_while_holding", None, "joined", "exact",
                             through="threading.Thread.join()", lock_any=True)]
        return [cycle], [], [], EXIT_DEADLOCK
    if s == "no_deadlock":
        other = [expect_edge(t, "waiter", "lock_waiter", t.lock("held"), "holder", "inferred",
                             "lock_holder_sleeping"),
                 expect_edge(t, "event_waiter", "event_waiter", lock_any=True,
                             through="threading.Event.wait() of <threading.Event object at "
                                     "remote %s>" % t.report["locks"]["never"])]
        return [], [], other, 0
    if s in ("gil", "gil_lock"):
        return [], [], [], EXIT_DEADLOCK
    raise AssertionError(s)


def gil_expectations(t):
    """(GIL holder LWP, LWPs that must wait behind it, [(waiter, holder)] of
    held_by_gil_waiter, other waits) or None when the scenario has no GIL stall."""
    if t.scenario == "gil":
        return t.lwp("gil_holder"), [t.lwp("spinner1"), t.lwp("spinner2")], [], []
    if t.scenario == "gil_lock":
        waiter = expect_edge(t, "lock_waiter", "gil_lock_waiter", t.lock("g"), "lock_spinner",
                             "inferred", "gil_lock_spinner")
        return (t.lwp("gil_holder"), [t.lwp("lock_spinner")],
                [(t.lwp("lock_waiter"), t.lwp("lock_spinner"))], [waiter])
    return None


# ----------------------------------------------------------------------------
# Cases

SCENARIOS = ("lock_pair", "rlock_pair", "ring", "condition", "queue", "join", "no_deadlock",
             "gil", "gil_lock")


def run_scenario(ctx, case, interp, scenario, env, validator):
    with ScenarioTarget(interp, scenario, ctx.workdir) as t:
        r = harness.run_pyattach(ctx.pyattach, t.proc.pid, ["deadlock"], env=env)
        want_cycles, want_behind, want_other, want_status = expectations(t)
        gil = gil_expectations(t)
        if gil:
            want_other = want_other + gil[3]
        case.check("exit status %d" % want_status, r.rc == want_status,
                   "got %s\n%s\n%s" % (r.rc, r.stdout, r.stderr))
        got = parse_report(r.stdout)
        case.check("every report line understood", not got["unparsed"],
                   "\n".join(got["unparsed"]) + "\n--- output:\n" + r.stdout)
        case.check("%d cycle(s)" % len(want_cycles), len(got["cycles"]) == len(want_cycles),
                   r.stdout)
        for i, (g, w) in enumerate(zip(got["cycles"], want_cycles)):
            check_edges(case, "cycle %d" % (i + 1), g, w, ordered_cycle=True)
        if want_behind or got["behind"]:
            check_edges(case, "behind the cycle", got["behind"], want_behind)
        if not want_cycles and not gil:
            case.check("says No deadlock found.", got["no_deadlock"], r.stdout)
        else:
            case.check("does not say No deadlock found.", not got["no_deadlock"], r.stdout)
        # The other waits: the expected ones at least (helper threads may wait too).
        others = {e["lwp"]: e for e in got["other"]}
        for w in want_other:
            g = others.get(w["lwp"])
            if case.check("%s listed as waiting" % w["name"], g is not None, r.stdout):
                problems = edge_problems(g, w)
                case.check("%s waits and is held as expected" % w["name"], not problems,
                           "\n".join(problems) + "\n--- output:\n" + r.stdout)
        got_gil_holder = got["gil_holder"]
        if gil:
            holder, waiters, behind_gil, _ = gil
            case.check("GIL stall: the holder", got_gil_holder == holder,
                       "got LWP %s, want %s\n%s" % (got_gil_holder, holder, r.stdout))
            case.check("GIL stall: waiters %s behind it" % waiters,
                       set(waiters) <= set(got["gil_waiters"]) and
                       holder not in got["gil_waiters"], r.stdout)
            case.check("locks held by GIL waiters: %s" % behind_gil,
                       got["held_by_gil_waiter"] == behind_gil, r.stdout)
        else:
            case.check("no GIL stall", got_gil_holder is None and not got["held_by_gil_waiter"],
                       r.stdout)
        check_json(ctx, case, t, env, validator, got, r.rc)
        problems = untouched(t)
        case.check("target running and untraced", not problems, "\n".join(problems))
        case.say("  pyattach deadlock took %.2fs" % r.seconds)


def check_json(ctx, case, t, env, validator, text_report, text_rc):
    r = harness.run_pyattach(ctx.pyattach, t.proc.pid, ["--format", "json", "deadlock"], env=env)
    case.check("JSON: same exit status as text", r.rc == text_rc,
               "got %s, text %s\n%s" % (r.rc, text_rc, r.stderr))
    try:
        doc = json.loads(r.stdout)
    except ValueError as e:
        case.check("JSON: parses", False, "%s\n%s" % (e, r.stdout[:2000]))
        return
    if validator is not None:
        errors = harness.schema_errors(validator, doc)
        case.check("JSON: validates against the schema", not errors, "\n".join(errors))
    results = [x for x in doc.get("results", []) if "deadlock" in x]
    if not case.check("JSON: one deadlock result", len(results) == 1, r.stdout[:2000]):
        return
    got = comparable(report_from_json(results[0]["deadlock"]))
    want = comparable(text_report)
    # Two runs: a thread outside the scenario (the watchdog's 0.2 s sleep
    # loop) may wait for the GIL in one and sleep in the other.
    scenario_lwps = {t["native_id"] for t in t.report["threads"].values()}
    for report in (got, want):
        report["gil_waiters"] = sorted(set(report["gil_waiters"]) & scenario_lwps)
    diff = [k for k in want if got[k] != want[k]]
    case.check("JSON: says what the text says", not diff,
               "\n".join("%s:\n  json %s\n  text %s" % (k, got[k], want[k]) for k in diff))


def make_cases(ctx):
    interps = [(i, None) for i in ctx.interpreters]
    if os.path.exists(DEBIAN_STRIPPED) and not os.environ.get("PYATTACH_TEST_PYTHONS"):
        probed = harness._probe(DEBIAN_STRIPPED)
        if probed:
            exe, version = probed
            interps.append((harness.Interpreter(exe, version, "debian-%d.%d.%d-nodebug" % version,
                                                None), {"PYATTACH_DEBUG_DIRS": "/nonexistent"}))
    validator, why = harness.load_output_validator()
    cases = []
    for interp, env in interps:
        for scenario in SCENARIOS:
            def fn(case, interp=interp, scenario=scenario, env=env):
                if validator is None:
                    case.check("JSON schema validator available", False, why)
                run_scenario(ctx, case, interp, scenario, env, validator)
            cases.append(harness.Case("deadlock/%s/%s" % (interp.label, scenario), interp, fn,
                                      keywords=(scenario,)))
    return cases


if __name__ == "__main__":
    sys.exit(harness.main(__doc__.splitlines()[0], make_cases))
