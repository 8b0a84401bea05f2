#!/usr/bin/env python3
"""Live test: `pyattach -p PID [--all-threads] py-bt` against real targets.

For each interpreter x target:
  (a) per thread (matched by LWP), the File lines of `--all-threads py-bt` equal the
      target's self-report (file, line, function, source line), innermost first;
  (b) the output equals gdb + python-gdb.py `thread apply all py-bt` line for line,
      after masking addresses (0x... -> 0xADDR) and dropping gdb's attach noise;
      `py-bt` without --all-threads equals gdb's `py-bt` (main thread, no header);
  (c) the target is alive, running and untraced after every tool run;
  (d) with PYATTACH_NO_PROCESS_VM_READV=1 (memory read through /proc/PID/mem) the
      output is the same.
gdb's own output is first checked against the self-report (this validates the
targets); where python-gdb.py is known to be wrong, pyattach must match the
self-report and is not compared with gdb for that thread.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402


def thread_label(thread):
    if thread["native"]:
        return "C thread LWP %d" % thread["native_id"]
    return "thread %r LWP %d" % (thread["name"], thread["native_id"])


def loose_volatile_match(lines, thread):
    return H.volatile_match(H.pybt_frames(lines), thread)


def compare_thread_to_report(case, tool, lines, thread, check=True):
    """Checks one thread's py-bt body against the self-report; returns the problem text."""
    problem = H.compare_pybt_to_report(lines, thread, tool)
    if problem and thread["volatile"] and loose_volatile_match(lines, thread):
        case.say("  note  %s: %s caught awake between heartbeats; compared loosely"
                 % (tool, thread_label(thread)))
        problem = ""
    if check:
        case.check("%s matches self-report: %s" % (tool, thread_label(thread)), not problem, problem)
    return problem


def masked_sections(sections, replace, wrong_lines):
    """Lines to compare: header + masked body per thread.  Bodies of threads in
    `replace` become a placeholder; threads in `wrong_lines` (gdb's line numbers
    known wrong) are compared without line numbers and source lines."""
    out = []
    for s in sections:
        out.append("")
        out.append(H.mask(s.header))
        if s.lwp in replace:
            out.append("    <%s>" % replace[s.lwp])
        elif s.lwp in wrong_lines:
            out.extend(H.without_line_numbers(s.lines))
        else:
            out.extend(H.mask(l) for l in s.lines)
    return out


def check_structure(case, target, preamble, sections, tool):
    stray = [l for l in preamble if l.strip()]
    case.check("%s: nothing before the first thread header" % tool, not stray,
               H.indent("\n".join(stray), "| "))
    case.check("%s: a blank line before every thread header" % tool,
               all(s.blank_before for s in sections),
               "headers without a blank line before them: %s"
               % [s.header for s in sections if not s.blank_before])
    numbers = [s.number for s in sections]
    case.check("%s: thread numbers N..1, highest first" % tool,
               numbers == list(range(len(sections), 0, -1)), "got %s" % numbers)
    tids = target.tids()
    lwps = sorted(s.lwp for s in sections if s.lwp is not None)
    case.check("%s: one section per task of the target" % tool, lwps == tids,
               "LWPs %s, tasks %s" % (lwps, tids))
    main_tid = target.main_thread()["native_id"]
    main = [s for s in sections if s.lwp == main_tid]
    case.check("%s: the main thread is Thread 1" % tool, main and main[0].number == 1,
               "main thread LWP %d is %s" % (main_tid, main[0].header if main else "absent"))


def run_case(case, ctx, script):
    interp = case.interp
    with H.Target(interp, script, ctx.workdir) as target:
        report = target.report
        threads = report["threads"]
        case.say("  target %s: pid %d, %d threads, CPython %s"
                 % (target.name, target.pid, len(threads), report["version_string"]))
        case.check("self-report version matches the interpreter",
                   tuple(report["version"]) == interp.version[:2],
                   "report %s, interpreter %s" % (report["version"], interp.version))

        # --- the reference: gdb + python-gdb.py
        gdb_sections = None
        gdb_main = None
        gdb_wrong = {}    # lwp -> known python-gdb.py bug; line numbers not compared with gdb
        if ctx.want_gdb(case, "gdb reference"):
            gdb = H.run_gdb(interp, target.pid, ["py-bt", "all-py-bt"], cwd=ctx.workdir)
            ok = gdb.cmd.rc == 0 and "all-py-bt" in gdb.sections and not gdb.cmd.timed_out
            case.check("gdb ran", ok, gdb.cmd.describe() + "\n" + H.indent(gdb.cmd.stdout[-3000:], "  | "))
            problems = H.check_running(target)
            case.check("target running after gdb", not problems, "\n".join(problems))
            if ok:
                _, gdb_sections = H.parse_thread_sections(gdb.sections["all-py-bt"])
                gdb_main = gdb.sections.get("py-bt", [])
                by_lwp = {s.lwp: s for s in gdb_sections}
                for t in threads:
                    s = by_lwp.get(t["native_id"])
                    if s is None:
                        case.check("gdb reference has %s" % thread_label(t), False)
                        continue
                    known = H.known_gdb_discrepancy(interp, s.lines, t)
                    problem = compare_thread_to_report(case, "gdb", s.lines, t, check=not known)
                    if known:
                        gdb_wrong[t["native_id"]] = known
                        case.say("  REFERENCE DISCREPANCY (known python-gdb.py bug) gdb vs self-report, %s:\n"
                                 "        %s\n%s" % (thread_label(t), known, H.indent(problem, "        ")))

        if not ctx.want_pyattach(case, "pyattach py-bt"):
            return

        # --- pyattach --all-threads py-bt
        r = H.run_pyattach(ctx.pyattach, target.pid, ["--all-threads", "py-bt"], cwd=ctx.workdir)
        tool = "pyattach --all-threads py-bt"
        ok = case.check("%s exits 0" % tool, r.rc == 0 and not r.timed_out, r.describe())
        problems = H.check_running(target)
        case.check("target running after %s" % tool, not problems, "\n".join(problems))
        if not ok:
            case.say("  NOT CHECKED: the output of %s (it failed); pyattach py-bt not run either" % tool)
            return
        preamble, sections = H.parse_thread_sections(r.stdout.splitlines())
        check_structure(case, target, preamble, sections, tool)
        by_lwp = {s.lwp: s for s in sections}
        for t in threads:
            s = by_lwp.get(t["native_id"])
            if s is None:
                case.check("%s has %s" % (tool, thread_label(t)), False)
                continue
            compare_thread_to_report(case, "pyattach", s.lines, t)

        if gdb_sections is not None:
            replace = {}
            gdb_by_lwp = {s.lwp: s for s in gdb_sections}
            for t in threads:
                if not t["volatile"]:
                    continue
                p, g = by_lwp.get(t["native_id"]), gdb_by_lwp.get(t["native_id"])
                if g and p and [H.mask(l) for l in g.lines] != [H.mask(l) for l in p.lines] \
                        and loose_volatile_match(g.lines, t) and loose_volatile_match(p.lines, t):
                    replace[t["native_id"]] = "heartbeat thread, moved between the two attaches"
            for lwp, why in sorted(replace.items()):
                case.say("  note  vs gdb: LWP %d body not compared: %s" % (lwp, why))
            for lwp in sorted(gdb_wrong):
                case.say("  note  vs gdb: LWP %d compared without line numbers (known python-gdb.py bug)" % lwp)
            want = masked_sections(gdb_sections, replace, gdb_wrong)
            got = masked_sections(sections, replace, gdb_wrong)
            case.check("%s equals gdb `thread apply all py-bt` (addresses masked)" % tool,
                       got == want, H.diff(want, got, "gdb", "pyattach"))

        # --- the same through the /proc/PID/mem fallback instead of process_vm_readv
        fallback = {"PYATTACH_NO_PROCESS_VM_READV": "1"}
        r3 = H.run_pyattach(ctx.pyattach, target.pid, ["--all-threads", "py-bt"], cwd=ctx.workdir, env=fallback)
        tool3 = "PYATTACH_NO_PROCESS_VM_READV=1 pyattach --all-threads py-bt"
        case.check("%s exits 0" % tool3, r3.rc == 0 and not r3.timed_out, r3.describe())
        problems = H.check_running(target)
        case.check("target running after %s" % tool3, not problems, "\n".join(problems))
        if r3.rc == 0:
            heartbeat = [t["native_id"] for t in threads if t["volatile"]]
            drop = lambda secs: [l for s in secs if s.lwp not in heartbeat for l in [s.header] + s.lines]
            _, fb_sections = H.parse_thread_sections(r3.stdout.splitlines())
            want, got = drop(sections), drop(fb_sections)
            case.check("%s prints the same as with process_vm_readv (heartbeat thread excluded)" % tool3,
                       got == want, H.diff(want, got, "process_vm_readv", "/proc/PID/mem"))

        # --- pyattach py-bt (main thread only, no header)
        r = H.run_pyattach(ctx.pyattach, target.pid, ["py-bt"], cwd=ctx.workdir)
        tool = "pyattach py-bt"
        ok = case.check("%s exits 0" % tool, r.rc == 0 and not r.timed_out, r.describe())
        problems = H.check_running(target)
        case.check("target running after %s" % tool, not problems, "\n".join(problems))
        if not ok:
            case.say("  NOT CHECKED: the output of %s (it failed)" % tool)
            return
        lines = H.strip_blank_edges(r.stdout.splitlines())
        main = target.main_thread()
        compare_thread_to_report(case, tool + " (main thread)", lines, main)
        if gdb_main is not None:
            if main["native_id"] in gdb_wrong:
                case.say("  note  %s compared with gdb without line numbers (known python-gdb.py bug)" % tool)
                want, got = H.without_line_numbers(gdb_main), H.without_line_numbers(lines)
            else:
                want, got = [H.mask(l) for l in gdb_main], [H.mask(l) for l in lines]
            case.check("%s equals gdb `py-bt` (addresses masked)" % tool, got == want,
                       H.diff(want, got, "gdb", "pyattach"))


def make_cases(ctx):
    cases = []
    for interp in ctx.interpreters:
        for script in H.target_scripts():
            name = "py_bt/%s/%s" % (interp.label, os.path.splitext(script)[0])
            cases.append(H.Case(name, interp, lambda c, s=script: run_case(c, ctx, s),
                                H.target_keywords(script)))
    return cases


if __name__ == "__main__":
    sys.exit(H.main(__doc__.splitlines()[0], make_cases))
