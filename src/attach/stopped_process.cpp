#include "attach/stopped_process.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <mutex>
#include <set>
#include <string>

#include "attach/fatal_signals.h"
#include "attach/permissions.h"
#include "attach/proc.h"
#include "attach/ptrace_wrapper.h"
#include "core/log.h"

namespace pyattach::attach {
namespace {

// A pass re-lists /proc/PID/task after stopping the threads it found; threads
// created in the meantime appear in the next pass. Programs that spawn
// threads in a loop converge in a few passes; the bound only stops a pathology.
constexpr int kMaxPasses = 1000;

const std::shared_ptr<spdlog::logger>& logger() {
  static const auto l = log::get("attach");
  return l;
}

bool is_dead_state(char state) { return state == 'Z' || state == 'X' || state == 'x'; }

std::string comm_of(pid_t pid) {
  std::string name = read_thread_name(pid, pid);
  return name.empty() ? "?" : name;
}

std::unexpected<Error> already_traced(pid_t pid, pid_t tracer) {
  return fail(ErrorCode::kAlreadyTraced,
              "process " + std::to_string(pid) + " is already traced by process " +
                  std::to_string(tracer) + " (" + comm_of(tracer) + ")",
              EPERM,
              "detach the other tracer (quit gdb, stop strace) and try again");
}

std::unexpected<Error> no_such_process(pid_t pid, const std::string& why = {}) {
  return fail(ErrorCode::kNoSuchProcess,
              why.empty() ? "no process with pid " + std::to_string(pid) : why, ESRCH,
              "check the pid with `ps -p " + std::to_string(pid) + "`");
}

// One thread we have seized. `stopped` means its stop has been reported by
// waitpid, so PTRACE_DETACH can be used on it.
struct Tracee {
  pid_t tid = 0;
  bool stopped = false;
  bool gone = false;         // exited (reaped) or vanished
  int pending_signal = 0;    // signal to re-inject at detach
  bool in_table = false;     // registered with fatal_signals
  user_regs_struct regs{};
};

// Best effort: reap a thread that is gone so it does not linger as a zombie
// of ours. Never blocks.
void reap(pid_t tid) { (void)wait_nohang(tid); }

// Records a wait status for a tracee; returns true when the tracee reached a
// state that ends the wait (stopped or gone).
bool apply_status(Tracee& t, const WaitStatus& ws) {
  if (ws.is_gone()) {
    logger()->debug("thread {} {} while attaching", t.tid, ws.describe());
    t.gone = true;
    return true;
  }
  if (!ws.is_stopped()) return false;  // e.g. WIFCONTINUED: keep waiting
  t.stopped = true;
  if (ws.kind == WaitKind::kSignalStop) {
    // A signal was dequeued before our PTRACE_INTERRUPT took effect. We leave
    // the thread in this signal-delivery-stop (it is as stopped as an
    // interrupt-stop) and pass the signal to PTRACE_DETACH, the only restart
    // from which the kernel delivers it with its original siginfo. Resuming
    // now to reach the interrupt-stop would lose it: the signal argument of
    // PTRACE_DETACH is ignored in PTRACE_EVENT_STOP.
    t.pending_signal = ws.signal;
    if (t.in_table) fatal_signals::set_pending_signal(t.tid, ws.signal);
    logger()->debug("thread {}: {} arrived while attaching; re-injected at detach",
                    t.tid, signal_name(ws.signal));
  }
  return true;
}

// Threads we seized that never reported their stop (stuck in the kernel, e.g.
// a vfork parent): a running tracee cannot be PTRACE_DETACHed, so they are
// kept here and detached as soon as they stop, at the next stop() or
// detach() on the same tracer thread. Until then (or until pyattach exits,
// when the kernel detaches them) they stay traced.
struct Orphan {
  pid_t tid = 0;
  pid_t tracer = 0;
  bool in_table = false;
};
std::mutex g_orphans_mutex;
std::vector<Orphan> g_orphans;

pid_t current_tid() { return static_cast<pid_t>(::gettid()); }

void adopt_orphan(const Tracee& t) {
  std::lock_guard lock(g_orphans_mutex);
  g_orphans.push_back(Orphan{t.tid, current_tid(), t.in_table});
}

void release_orphans() {
  std::lock_guard lock(g_orphans_mutex);
  const pid_t self = current_tid();
  std::erase_if(g_orphans, [self](const Orphan& o) {
    if (o.tracer != self) return false;
    auto ws = wait_nohang(o.tid);
    bool done = false;
    if (!ws || (*ws && (*ws)->is_gone())) {
      done = true;  // ECHILD or exited: nothing left to detach
    } else if (*ws && (*ws)->is_stopped()) {
      int sig = (*ws)->kind == WaitKind::kSignalStop ? (*ws)->signal : 0;
      (void)ptrace_detach(o.tid, sig);
      logger()->info("detached thread {}, which had not stopped in time", o.tid);
      done = true;
    }
    if (done && o.in_table) fatal_signals::remove(o.tid);
    return done;
  });
}

}  // namespace

struct StoppedProcess::State {
  pid_t pid = 0;
  bool attached = false;
  bool handlers = false;
  std::vector<Tracee> tracees;
  std::vector<StoppedThread> threads;  // public view, built once stopped
  double registers_ms = 0;

  // Waits for every seized, not yet stopped tracee, until `deadline`.
  // Returns the tid of one that timed out, or 0.
  pid_t wait_for_stops(std::size_t first, std::chrono::steady_clock::time_point deadline) {
    pid_t timed_out = 0;
    // Newest first, so the main thread (first in /proc/PID/task order) comes
    // last: when the process is killed meanwhile, the kernel reports the main
    // thread's exit only after every other thread has been reaped, and those
    // are our tracees, reaped by these very waits.
    for (std::size_t i = tracees.size(); i-- > first;) {
      Tracee& t = tracees[i];
      // A thread reports at most a signal-stop and then its stop or exit, but
      // bound the loop anyway: statuses are not under our control.
      for (int n = 0; n < 64 && !t.stopped && !t.gone; ++n) {
        auto ws = wait_until(t.tid, deadline);
        if (!ws) {
          // ECHILD: not (or no longer) our tracee; it is gone.
          logger()->debug("waitpid({}) failed: {}", t.tid, ws.error().message);
          t.gone = true;
          break;
        }
        if (!*ws) {
          if (!timed_out) timed_out = t.tid;
          break;
        }
        apply_status(t, **ws);
      }
    }
    return timed_out;
  }

  // Detaches every stopped tracee; waits briefly for seized ones still on their
  // way to a stop (a running tracee cannot be detached).
  void release_all(std::chrono::milliseconds grace) {
    auto deadline = std::chrono::steady_clock::now() + grace;
    wait_for_stops(0, deadline);
    for (Tracee& t : tracees) {
      if (t.gone) {
        reap(t.tid);
      } else if (!t.stopped) {
        logger()->warn("thread {} did not stop; it is detached once it stops, or when "
                       "pyattach exits",
                       t.tid);
        adopt_orphan(t);
        continue;  // stays in the fatal-signal table
      } else if (auto r = ptrace_detach(t.tid, t.pending_signal); !r) {
        // ESRCH here means the thread died while stopped (SIGKILL).
        logger()->debug("detach {}: {}", t.tid, r.error().message);
        reap(t.tid);
      }
      if (t.in_table) fatal_signals::remove(t.tid);
      t.in_table = false;
    }
    tracees.clear();
    threads.clear();
    if (handlers) fatal_signals::release();
    handlers = false;
    attached = false;
  }

  // PTRACE_SEIZE + PTRACE_INTERRUPT one thread. Ok(false): it has exited.
  Result<bool> seize(pid_t tid) {
    Tracee t;
    t.tid = tid;
    // In the table before the seize, so there is no moment where a fatal
    // signal would find it seized but unknown.
    t.in_table = fatal_signals::add(tid);
    if (auto r = ptrace_seize(tid); !r) {
      if (t.in_table) fatal_signals::remove(tid);
      int err = r.error().sys_errno;
      if (err == ESRCH) return false;
      if (err == EPERM) {
        // EPERM covers three cases the kernel does not tell apart: another
        // tracer, a dead (zombie) thread, and a real permission problem.
        auto st = read_thread_status(pid, tid);
        if (!st) return false;  // vanished meanwhile
        if (st->tracer_pid != 0) return already_traced(pid, st->tracer_pid);
        if (is_dead_state(st->state)) return false;
        return std::unexpected(permission_denied(pid));
      }
      return std::unexpected(r.error());
    }
    if (auto r = ptrace_interrupt(tid); !r) {
      // ESRCH: the thread is exiting. It is seized, so waitpid will report
      // its exit; keep it to reap it.
      if (r.error().sys_errno != ESRCH) {
        tracees.push_back(t);
        return std::unexpected(r.error());
      }
    }
    tracees.push_back(t);
    return true;
  }

  Result<void> stop_all(const StopOptions& options) {
    std::set<pid_t> known;
    const auto timeout = std::chrono::milliseconds(std::max(options.stop_timeout_ms, 1));
    for (int pass = 0;; ++pass) {
      if (pass == kMaxPasses)
        return fail(ErrorCode::kInternal,
                    "process " + std::to_string(pid) + " keeps creating threads",
                    0, "try again");
      auto tids = list_threads(pid);
      if (!tids) {
        if (tids.error().code == ErrorCode::kNoSuchProcess)
          return no_such_process(pid, "process " + std::to_string(pid) +
                                          " exited while attaching");
        return std::unexpected(tids.error());
      }
      std::size_t first_new = tracees.size();
      bool found_new = false;
      for (pid_t tid : *tids) {
        if (!known.insert(tid).second) continue;
        found_new = true;
        PYATTACH_TRY(seize(tid));
      }
      if (!found_new) break;
      pid_t slow = wait_for_stops(first_new, std::chrono::steady_clock::now() + timeout);
      // A dead thread never reports a stop: a zombie main thread waits for the
      // others to be reaped (the process is being killed, or the main thread
      // called pthread_exit). Count it gone and wait for the rest; bounded by
      // the number of tracees.
      for (std::size_t n = 0; slow != 0 && n < tracees.size(); ++n) {
        auto st = read_thread_status(pid, slow);
        if (st && !is_dead_state(st->state)) break;
        for (Tracee& t : tracees)
          if (t.tid == slow) t.gone = true;
        slow = wait_for_stops(first_new, std::chrono::steady_clock::now() + timeout);
      }
      if (slow != 0) {
        auto st = read_thread_status(pid, slow);
        return fail(ErrorCode::kInternal,
                    "thread " + std::to_string(slow) + " of process " +
                        std::to_string(pid) + " did not stop within " +
                        std::to_string(timeout.count()) + " ms (state " +
                        (st ? std::string(1, st->state) : std::string("?")) + ")",
                    ETIMEDOUT,
                    "the thread may be blocked in the kernel (state D); try again");
      }
      logger()->debug("pass {}: {} threads stopped", pass,
                      std::count_if(tracees.begin(), tracees.end(),
                                    [](const Tracee& t) { return t.stopped; }));
    }

    const auto registers_start = std::chrono::steady_clock::now();
    for (Tracee& t : tracees) {
      if (t.gone || !t.stopped) continue;
      auto regs = ptrace_get_regs(t.tid);
      if (!regs) {
        if (regs.error().sys_errno == ESRCH) {  // died while stopped (SIGKILL)
          t.gone = true;
          continue;
        }
        return std::unexpected(regs.error());
      }
      t.regs = *regs;
      threads.push_back(StoppedThread{t.tid, *regs});
    }
    registers_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() -
                                                             registers_start)
                       .count();
    if (threads.empty())
      return no_such_process(pid, "process " + std::to_string(pid) +
                                      " exited while attaching");
    // /proc/PID/task order: the main thread first, then ascending tids.
    std::stable_sort(threads.begin(), threads.end(),
                     [this](const StoppedThread& a, const StoppedThread& b) {
                       if ((a.tid == pid) != (b.tid == pid)) return a.tid == pid;
                       return a.tid < b.tid;
                     });
    return {};
  }
};

StoppedProcess::StoppedProcess(std::unique_ptr<State> state) : state_(std::move(state)) {}
StoppedProcess::StoppedProcess(StoppedProcess&&) noexcept = default;

StoppedProcess& StoppedProcess::operator=(StoppedProcess&& other) noexcept {
  if (this != &other) {
    detach();
    state_ = std::move(other.state_);
  }
  return *this;
}

StoppedProcess::~StoppedProcess() { detach(); }

Result<void> StoppedProcess::check_attachable(pid_t pid) {
  if (pid <= 0) return no_such_process(pid);
  if (pid == ::getpid())
    return fail(ErrorCode::kUsage, "pyattach cannot attach to itself");
  auto status = PYATTACH_TRY(read_status(pid));
  if (status.tgid != 0 && status.tgid != pid)
    return fail(ErrorCode::kUsage,
                std::to_string(pid) + " is a thread of process " +
                    std::to_string(status.tgid),
                0, "attach to process " + std::to_string(status.tgid) + " instead");
  // Checked before seizing so that the error names the other tracer; a tracer
  // arriving after this check is caught by the EPERM path in seize().
  if (status.tracer_pid != 0) return already_traced(pid, status.tracer_pid);
  if (is_dead_state(status.state)) {
    auto tids = list_threads(pid);
    if (!tids || tids->size() <= 1)
      return no_such_process(pid, "process " + std::to_string(pid) + " is a zombie");
    // Otherwise only the main thread has exited; the others can be stopped.
  }
  // Its files are read through /proc/PID/root, which needs the same access as
  // ptrace; some kernels let /proc/PID/maps be read without it.
  const std::string root = "/proc/" + std::to_string(pid) + "/root/";
  if (::access(root.c_str(), F_OK) != 0 && (errno == EACCES || errno == EPERM))
    return std::unexpected(permission_denied(pid));
  return {};
}

Result<StoppedProcess> StoppedProcess::stop(pid_t pid, const StopOptions& options) {
  release_orphans();  // before the TracerPid check: an orphan may be ours
  if (auto ok = check_attachable(pid); !ok) return std::unexpected(ok.error());

  auto state = std::make_unique<State>();
  state->pid = pid;
  state->attached = true;
  state->handlers = true;
  fatal_signals::acquire();
  auto started = std::chrono::steady_clock::now();
  if (auto r = state->stop_all(options); !r) {
    logger()->debug("stopping {} failed ({}); detaching", pid, r.error().message);
    state->release_all(std::chrono::milliseconds(std::max(options.stop_timeout_ms, 1)));
    return std::unexpected(r.error());
  }
  logger()->info("stopped process {}: {} threads in {} us", pid, state->threads.size(),
                 std::chrono::duration_cast<std::chrono::microseconds>(
                     std::chrono::steady_clock::now() - started)
                     .count());
  return StoppedProcess(std::move(state));
}

pid_t StoppedProcess::pid() const { return state_ ? state_->pid : 0; }

std::span<const StoppedThread> StoppedProcess::threads() const {
  if (!state_) return {};
  return state_->threads;
}

void StoppedProcess::detach() {
  if (!state_ || !state_->attached) return;
  try {
    logger()->debug("detaching from process {}", state_->pid);
    state_->release_all(std::chrono::milliseconds(0));
    release_orphans();
  } catch (...) {
    // Logging may allocate; never let that escape a destructor.
  }
}

double StoppedProcess::registers_ms() const { return state_ ? state_->registers_ms : 0; }

bool StoppedProcess::attached() const { return state_ && state_->attached; }

}  // namespace pyattach::attach
