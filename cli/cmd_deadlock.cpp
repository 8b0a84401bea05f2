// deadlock: the wait-for graph of the stopped target, its cycles and GIL stalls.
#include "command.h"
#include "core/syscalls.h"
#include "cpython/deadlock.h"
#include "cpython/locks.h"
#include "render/deadlock_report.h"
#include "thread_names.h"

namespace pyattach::cli {
namespace {

// The futex word a thread sleeps on: the first argument of the futex(2)
// call it is blocked in (the thread-state layer decoded the call, including
// one the kernel resumed as restart_syscall after an earlier stop).
RemoteAddr futex_word(const cpython::ThreadSnapshot& thread) {
  static const std::optional<std::int64_t> kFutex = syscall_number("futex");
  if (!kFutex || !thread.syscall || thread.syscall->number != *kFutex) return RemoteAddr();
  return RemoteAddr(thread.syscall->args[0]);
}

class Deadlock final : public Command {
 public:
  std::string_view name() const override { return "deadlock"; }
  std::string_view summary() const override {
    return "deadlock: which lock each thread waits for, who holds it, and every cycle";
  }
  std::string_view usage() const override {
    return "deadlock\n"
           "Finds, for every blocked thread, the lock it waits for (_thread.lock,\n"
           "_thread.RLock, and the threading.Condition, Semaphore, Event, queue.Queue or\n"
           "Thread.join it waits through) and the thread holding it: exact for an RLock\n"
           "(its owner) and a joined thread, inferred for a plain Lock (a live `with`\n"
           "block or a local in the holder's frames), else \"holder unknown\". Prints every\n"
           "cycle of the wait-for graph as a story (threads, locks, the lines where each\n"
           "acquired and where each waits), the threads stuck behind a cycle, a thread\n"
           "holding the GIL while blocked in native code, then the other waiting threads.\n"
           "One-shot `pyattach -p PID deadlock` exits with status 11 when it finds a\n"
           "deadlock, 0 when not.";
  }
  bool needs_memory() const override { return true; }
  bool supports_json() const override { return true; }
  bool run(Session& session, std::string_view args) const override {
    if (!trim(args).empty()) return command_error(session, "Usage: deadlock");
    auto* values = session.values();
    if (!values)
      return command_error(session, "The target is not stopped: `continue` first.");
    const auto& snapshot = session.snapshot();
    const auto& target = session.target();
    cpython::LockAnalysisContext context{target.memory(), target.offsets(), *values,
                                         target.interpreter().cfunction_type,
                                         target.interpreter().cmethod_type, futex_word};
    auto locks = cpython::analyze_locks(snapshot, context);
    cpython::GilView gil;
    for (const auto& t : snapshot.threads) {
      const bool holds = t.gil == cpython::GilRelation::kHolds;
      gil.holds_gil.push_back(holds);
      gil.waits_for_gil.push_back(t.gil == cpython::GilRelation::kWaiting);
      gil.blocked_in_native.push_back(
          holds && (t.activity == cpython::ThreadActivity::kHoldsGil || t.syscall.has_value()));
    }
    auto findings = cpython::find_deadlocks(snapshot, locks, gil);
    render::DeadlockReportInput input{snapshot, locks, findings, {}};
    for (const auto& t : snapshot.threads)
      input.python_names.push_back(!t.python_name.empty() ? t.python_name
                                                           : python_thread_name(session, t));
    if (session.json_output)
      session.add_json_result("deadlock", render::deadlock_json(input));
    else
      render::print_deadlock_report(session.out, input);
    if (findings.deadlocked()) session.deadlock_found = true;
    return true;
  }
};

CommandRegistration deadlock(std::make_unique<Deadlock>());

}  // namespace
}  // namespace pyattach::cli
