#include <doctest/doctest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <set>
#include <string>
#include <thread>

#include "attach/proc.h"
#include "attach/stopped_process.h"
#include "support.h"

using namespace pyattach;
using namespace pyattach::attach;
using namespace pyattach::live;

namespace {

bool is_stopped_state(char s) { return s == 't' || s == 'T'; }

// Every thread of pid is in a tracing stop, traced by us.
void check_all_traced(pid_t pid, const StoppedProcess& sp) {
  std::set<pid_t> listed;
  for (const auto& t : sp.threads()) listed.insert(t.tid);
  for (pid_t tid : task_ids(pid)) {
    INFO("tid " << tid);
    CHECK(listed.count(tid) == 1);
    CHECK(thread_state(pid, tid) == 't');
    CHECK(tracer_of(pid, tid) == getpid());
  }
}

// Every thread runs on, untraced. (A short-lived thread may vanish between
// the listing and its status read: that is fine.)
void check_all_released(pid_t pid) {
  for (pid_t tid : task_ids(pid)) {
    INFO("tid " << tid);
    auto st = read_thread_status(pid, tid);
    if (!st) continue;
    CHECK_FALSE(is_stopped_state(st->state));
    CHECK(st->tracer_pid == 0);
  }
}

bool in_mapping(const std::vector<MemoryMapping>& maps, std::uint64_t addr,
                bool want_exec) {
  return std::any_of(maps.begin(), maps.end(), [&](const MemoryMapping& m) {
    return m.contains(addr) && (!want_exec || m.executable);
  });
}

}  // namespace

TEST_CASE("stop() stops every thread, reads registers, detach() resumes them") {
  auto target = spawn_native("heartbeat", 4);
  const pid_t pid = target.pid();
  auto sp = StoppedProcess::stop(pid);
  REQUIRE_MESSAGE(sp, sp.error().message);
  CHECK(sp->attached());
  CHECK(sp->pid() == pid);
  REQUIRE(sp->threads().size() == 5);
  CHECK(sp->threads().front().tid == pid);
  for (std::size_t i = 2; i < sp->threads().size(); ++i)
    CHECK(sp->threads()[i - 1].tid < sp->threads()[i].tid);
  std::set<pid_t> expected;
  for (int i = 0; i < 5; ++i) expected.insert(target.shared->tids[i].load());
  std::set<pid_t> got;
  for (const auto& t : sp->threads()) got.insert(t.tid);
  CHECK(got == expected);
  check_all_traced(pid, *sp);

  // Registers: rip in executable memory, rsp in a mapping (the thread stacks).
  auto maps = read_maps(pid);
  REQUIRE(maps);
  for (const auto& t : sp->threads()) {
    INFO("tid " << t.tid);
    CHECK(in_mapping(*maps, t.regs.rip, true));
    CHECK(in_mapping(*maps, t.regs.rsp, false));
    CHECK(t.regs.rsp % 8 == 0);
  }

  // Nothing runs while stopped.
  auto before = target.total_beats();
  std::this_thread::sleep_for(50ms);
  CHECK(target.total_beats() == before);

  sp->detach();
  CHECK_FALSE(sp->attached());
  CHECK(sp->threads().empty());
  sp->detach();  // idempotent
  check_all_released(pid);
  CHECK(target.all_threads_beating(5s));
}

TEST_CASE("the destructor detaches, and a moved-from instance does not") {
  auto target = spawn_native("heartbeat", 2);
  const pid_t pid = target.pid();
  {
    auto sp = StoppedProcess::stop(pid);
    REQUIRE(sp);
    StoppedProcess moved = std::move(*sp);
    CHECK_FALSE(sp->attached());
    CHECK(sp->threads().empty());
    CHECK(moved.attached());
    CHECK(moved.threads().size() == 3);
    check_all_traced(pid, moved);
  }
  check_all_released(pid);
  CHECK(target.all_threads_beating(5s));

  // Move-assignment detaches what the destination held.
  auto a = StoppedProcess::stop(pid);
  REQUIRE(a);
  auto other = spawn_native("heartbeat", 1);
  auto b = StoppedProcess::stop(other.pid());
  REQUIRE(b);
  *a = std::move(*b);
  check_all_released(pid);
  CHECK(a->pid() == other.pid());
  check_all_traced(other.pid(), *a);
  a->detach();
  check_all_released(other.pid());
}

TEST_CASE("a target stopped by SIGSTOP stays stopped after detach") {
  auto target = spawn_native("heartbeat", 2);
  const pid_t pid = target.pid();
  REQUIRE(kill(pid, SIGSTOP) == 0);
  REQUIRE(wait_until(
      [&] {
        for (pid_t tid : task_ids(pid))
          if (thread_state(pid, tid) != 'T') return false;
        return true;
      },
      5s));
  {
    auto sp = StoppedProcess::stop(pid);
    REQUIRE_MESSAGE(sp, sp.error().message);
    CHECK(sp->threads().size() == 3);
    check_all_traced(pid, *sp);
  }
  // Give a wrongly resumed thread time to show itself.
  std::this_thread::sleep_for(100ms);
  for (pid_t tid : task_ids(pid)) {
    INFO("tid " << tid);
    CHECK(thread_state(pid, tid) == 'T');
    CHECK(tracer_of(pid, tid) == 0);
  }
  auto before = target.total_beats();
  std::this_thread::sleep_for(50ms);
  CHECK(target.total_beats() == before);

  // Attaching twice to a stopped process is no different.
  {
    auto sp = StoppedProcess::stop(pid);
    REQUIRE(sp);
  }
  std::this_thread::sleep_for(50ms);
  CHECK(thread_state(pid, pid) == 'T');

  REQUIRE(kill(pid, SIGCONT) == 0);
  CHECK(target.all_threads_beating(5s));
  check_all_released(pid);
}

TEST_CASE("errors: no such process, ourselves, a thread id") {
  auto none = StoppedProcess::stop(0x3fffffff);
  REQUIRE_FALSE(none);
  CHECK(none.error().code == ErrorCode::kNoSuchProcess);
  CHECK(none.error().message == "no process with pid 1073741823");
  CHECK_FALSE(none.error().hint.empty());

  auto negative = StoppedProcess::stop(-5);
  REQUIRE_FALSE(negative);
  CHECK(negative.error().code == ErrorCode::kNoSuchProcess);

  auto self = StoppedProcess::stop(getpid());
  REQUIRE_FALSE(self);
  CHECK(self.error().code == ErrorCode::kUsage);

  auto target = spawn_native("heartbeat", 1);
  pid_t worker = target.shared->tids[1].load();
  auto thread = StoppedProcess::stop(worker);
  REQUIRE_FALSE(thread);
  CHECK(thread.error().code == ErrorCode::kUsage);
  CHECK(thread.error().hint ==
        "attach to process " + std::to_string(target.pid()) + " instead");
  check_all_released(target.pid());

  // A process that exited but was not reaped yet.
  Child zombie = spawn_self({"exit-now"});
  REQUIRE(wait_until([&] { return thread_state(zombie.pid(), zombie.pid()) == 'Z'; }, 5s));
  auto z = StoppedProcess::stop(zombie.pid());
  REQUIRE_FALSE(z);
  CHECK(z.error().code == ErrorCode::kNoSuchProcess);
  CHECK(z.error().message ==
        "process " + std::to_string(zombie.pid()) + " is a zombie");
}

TEST_CASE("a process traced by someone else gives kAlreadyTraced, untouched") {
  const char* strace = "/usr/bin/strace";
  if (access(strace, X_OK) != 0) {
    MESSAGE("strace not installed (apt-get install -y strace): skipped");
    return;
  }
  auto target = spawn_native("heartbeat", 2);
  const pid_t pid = target.pid();

  SUBCASE("the main thread is traced") {
    Child tracer = spawn_command({strace, "-o", "/dev/null", "-p", std::to_string(pid)});
    REQUIRE(wait_until([&] { return tracer_of(pid, pid) == tracer.pid(); }, 10s));
    auto sp = StoppedProcess::stop(pid);
    REQUIRE_FALSE(sp);
    CHECK(sp.error().code == ErrorCode::kAlreadyTraced);
    CHECK(sp.error().message == "process " + std::to_string(pid) +
                                    " is already traced by process " +
                                    std::to_string(tracer.pid()) + " (strace)");
    CHECK_FALSE(sp.error().hint.empty());
    CHECK(tracer_of(pid, target.shared->tids[1].load()) == 0);
  }
  SUBCASE("only a worker thread is traced: the threads seized before are released") {
    pid_t worker = target.shared->tids[2].load();
    Child tracer =
        spawn_command({strace, "-o", "/dev/null", "-p", std::to_string(worker)});
    REQUIRE(wait_until([&] { return tracer_of(pid, worker) == tracer.pid(); }, 10s));
    auto sp = StoppedProcess::stop(pid);
    REQUIRE_FALSE(sp);
    CHECK(sp.error().code == ErrorCode::kAlreadyTraced);
    CHECK(sp.error().message == "process " + std::to_string(pid) +
                                    " is already traced by process " +
                                    std::to_string(tracer.pid()) + " (strace)");
    for (pid_t tid : task_ids(pid)) {
      if (tid == worker) continue;
      INFO("tid " << tid);
      CHECK(tracer_of(pid, tid) == 0);
      CHECK_FALSE(is_stopped_state(thread_state(pid, tid)));
    }
    // strace detaches on SIGTERM; then we can attach.
    kill(tracer.pid(), SIGTERM);
    REQUIRE(tracer.wait_exit(10s));
    REQUIRE(wait_until([&] { return tracer_of(pid, worker) == 0; }, 5s));
    auto again = StoppedProcess::stop(pid);
    REQUIRE_MESSAGE(again, again.error().message);
    CHECK(again->threads().size() == 3);
  }
  check_all_released(pid);
  CHECK(target.all_threads_beating(5s));
}

TEST_CASE("threads starting and exiting in a tight loop during stop()") {
  auto target = spawn_native("churn", 3);
  const pid_t pid = target.pid();
  for (int round = 0; round < 40; ++round) {
    CAPTURE(round);
    auto sp = StoppedProcess::stop(pid);
    REQUIRE_MESSAGE(sp, sp.error().message);
    CHECK(sp->threads().size() >= 4);  // main + 3 spawners, maybe a short-lived one
    CHECK(sp->threads().front().tid == pid);
    check_all_traced(pid, *sp);
    auto spawned = target.shared->spawned.load();
    std::this_thread::sleep_for(2ms);
    CHECK(target.shared->spawned.load() == spawned);
  }
  check_all_released(pid);
  auto spawned = target.shared->spawned.load();
  CHECK(wait_until([&] { return target.shared->spawned.load() > spawned + 100; }, 5s));
}

TEST_CASE("a signal sent while stopped is delivered after detach") {
  auto target = spawn_native("heartbeat", 1);
  const pid_t pid = target.pid();
  auto sp = StoppedProcess::stop(pid);
  REQUIRE(sp);
  REQUIRE(kill(pid, SIGUSR1) == 0);
  std::this_thread::sleep_for(50ms);
  CHECK(target.shared->usr1.load() == 0);  // pending, not run, not lost
  sp->detach();
  CHECK(wait_until([&] { return target.shared->usr1.load() == 1; }, 5s));
  CHECK(target.all_threads_beating(5s));
}

TEST_CASE("no signal is lost across many stop/detach cycles") {
  // Real-time signals queue (they do not coalesce), so the handler count must
  // end equal to the number sent. Signals that land between our
  // PTRACE_SEIZE and the interrupt-stop exercise the signal-delivery-stop path.
  auto target = spawn_native("heartbeat", 2);
  const pid_t pid = target.pid();
  std::atomic<bool> done{false};
  std::atomic<std::uint64_t> sent{0};
  std::thread sender([&] {
    for (int i = 0; i < 3000; ++i) {
      sigval v{};
      if (sigqueue(pid, SIGRTMIN + 1, v) == 0) sent.fetch_add(1);
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
    done = true;
  });
  int cycles = 0;
  while (!done.load()) {
    auto sp = StoppedProcess::stop(pid);
    REQUIRE_MESSAGE(sp, sp.error().message);
    ++cycles;
  }
  sender.join();
  CHECK(cycles > 10);
  CHECK(wait_until([&] { return target.shared->rt.load() == sent.load(); }, 10s));
  CHECK(target.shared->rt.load() == sent.load());
  MESSAGE(cycles << " stop/detach cycles, " << sent.load() << " signals");
  check_all_released(pid);
}

TEST_CASE("a holder killed by a signal leaves the target running and untraced") {
  auto target = spawn_native("heartbeat", 3);
  const pid_t pid = target.pid();
  for (int sig : {SIGKILL, SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGQUIT}) {
    CAPTURE(sig);
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    Child holder = spawn_self({"holder", std::to_string(pid), std::to_string(fds[1])});
    close(fds[1]);
    auto line = read_line(fds[0], 10s);
    close(fds[0]);
    REQUIRE(line);
    REQUIRE(*line == "ok 4");
    for (pid_t tid : task_ids(pid)) {
      CHECK(tracer_of(pid, tid) == holder.pid());
      CHECK(thread_state(pid, tid) == 't');
    }
    REQUIRE(kill(holder.pid(), sig) == 0);
    auto status = holder.wait_exit(10s);
    REQUIRE(status);
    // The handler re-raises with the default action: the holder dies of it.
    CHECK(WIFSIGNALED(*status));
    CHECK(WTERMSIG(*status) == sig);
    check_all_released(pid);
    CHECK(target.all_threads_beating(5s));
  }
}

TEST_CASE("permission denied names the fix") {
  if (geteuid() != 0) {
    MESSAGE("needs root to drop to another uid: skipped");
    return;
  }
  auto target = spawn_native("heartbeat", 1);
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  Child holder =
      spawn_self({"holder", std::to_string(target.pid()), std::to_string(fds[1]), "65534"});
  close(fds[1]);
  auto line = read_line(fds[0], 10s);
  close(fds[0]);
  REQUIRE(line);
  // The target runs as root and the tracer as nobody: the refusal is
  // explained by the other user (src/attach/permissions.*), with the fix.
  std::string expected_prefix =
      "err " + std::to_string(static_cast<int>(ErrorCode::kPermissionDenied)) +
      " permission denied to trace process " + std::to_string(target.pid());
  CHECK(line->rfind(expected_prefix, 0) == 0);
  CHECK(line->find("user root (uid 0)") != std::string::npos);
  CHECK(line->find("user nobody (uid 65534)") != std::string::npos);
  CHECK(line->find("|run pyattach as root") != std::string::npos);
  MESSAGE(*line);
  check_all_released(target.pid());
}

namespace {
extern "C" void custom_handler(int) {}

// Handlers as integers, so doctest can print them.
std::uintptr_t as_int(void (*handler)(int)) {
  return reinterpret_cast<std::uintptr_t>(handler);
}
std::uintptr_t handler_of(int sig) {
  struct sigaction sa {};
  sigaction(sig, nullptr, &sa);
  return as_int(sa.sa_handler);
}
}  // namespace

TEST_CASE("fatal-signal handlers are installed while attached and restored after") {
  struct sigaction custom {};
  custom.sa_handler = custom_handler;
  sigemptyset(&custom.sa_mask);
  struct sigaction old_int {}, old_hup {};
  sigaction(SIGINT, &custom, &old_int);
  signal(SIGHUP, SIG_IGN);
  sigaction(SIGHUP, nullptr, &old_hup);
  auto before_term = handler_of(SIGTERM);

  auto a = spawn_native("heartbeat", 0);
  auto b = spawn_native("heartbeat", 0);
  auto sa = StoppedProcess::stop(a.pid());
  REQUIRE(sa);
  auto ours = handler_of(SIGTERM);
  CHECK(ours != before_term);
  CHECK(handler_of(SIGINT) == ours);
  CHECK(handler_of(SIGPIPE) == ours);
  CHECK(handler_of(SIGQUIT) == ours);
  CHECK(handler_of(SIGHUP) == as_int(SIG_IGN));  // ignored before: stays ignored
  auto sb = StoppedProcess::stop(b.pid());
  REQUIRE(sb);
  sa->detach();
  CHECK(handler_of(SIGTERM) == ours);  // b is still attached
  sb->detach();
  CHECK(handler_of(SIGTERM) == before_term);
  CHECK(handler_of(SIGINT) == as_int(custom_handler));
  CHECK(handler_of(SIGHUP) == as_int(SIG_IGN));
  CHECK(handler_of(SIGPIPE) == as_int(SIG_DFL));

  // A failed stop() releases them too.
  auto none = StoppedProcess::stop(0x3fffffff);
  CHECK_FALSE(none);
  CHECK(handler_of(SIGTERM) == before_term);

  // A handler installed by someone else while attached survives the release.
  auto sc = StoppedProcess::stop(a.pid());
  REQUIRE(sc);
  struct sigaction later {};
  later.sa_handler = custom_handler;
  sigemptyset(&later.sa_mask);
  sigaction(SIGQUIT, &later, nullptr);
  sc->detach();
  CHECK(handler_of(SIGQUIT) == as_int(custom_handler));
  CHECK(handler_of(SIGTERM) == before_term);
  signal(SIGQUIT, SIG_DFL);

  sigaction(SIGINT, &old_int, nullptr);
  signal(SIGHUP, SIG_DFL);
}

TEST_CASE("a Python process with threads stops and runs on") {
  const std::string python = default_python();
  CAPTURE(python);
  std::string line;
  Child py = spawn_python(python,
                          "import threading, time\n"
                          "def spin():\n"
                          "    while True: sum(range(1000))\n"
                          "def nap():\n"
                          "    while True: time.sleep(0.01)\n"
                          "for f in (spin, nap, nap):\n"
                          "    threading.Thread(target=f, daemon=True).start()\n"
                          "print('ready', flush=True)\n"
                          "spin()\n",
                          &line);
  REQUIRE(line == "ready");
  const pid_t pid = py.pid();
  {
    auto sp = StoppedProcess::stop(pid);
    REQUIRE_MESSAGE(sp, sp.error().message);
    CHECK(sp->threads().size() == task_ids(pid).size());
    CHECK(sp->threads().size() >= 4);
    check_all_traced(pid, *sp);
    auto ticks = cpu_ticks(pid);
    std::this_thread::sleep_for(100ms);
    CHECK(cpu_ticks(pid) == ticks);
  }
  check_all_released(pid);
  auto ticks = cpu_ticks(pid);
  CHECK(wait_until([&] { return cpu_ticks(pid) > ticks + 2; }, 5s));
}

TEST_CASE("a thread that cannot stop times out, and is detached once it stops") {
  // A vfork parent sleeps killably until its child execs: PTRACE_INTERRUPT
  // cannot stop it, so stop() must give up after stop_timeout_ms.
  Child target = spawn_self({"vfork"});
  const pid_t pid = target.pid();
  pid_t vfork_child = 0;
  REQUIRE(wait_until(
      [&] {
        auto st = read_status(pid);
        if (!st || st->state != 'D') return false;
        std::string path = "/proc/" + std::to_string(pid) + "/task/" +
                           std::to_string(pid) + "/children";
        FILE* f = fopen(path.c_str(), "r");
        if (!f) return false;
        if (fscanf(f, "%d", &vfork_child) != 1) vfork_child = 0;
        fclose(f);
        return vfork_child != 0;
      },
      5s));
  Child child_guard(vfork_child);

  auto started = std::chrono::steady_clock::now();
  auto sp = StoppedProcess::stop(pid, StopOptions{200});
  auto took = std::chrono::steady_clock::now() - started;
  REQUIRE_FALSE(sp);
  CHECK(sp.error().code == ErrorCode::kInternal);
  CHECK(sp.error().message == "thread " + std::to_string(pid) + " of process " +
                                  std::to_string(pid) +
                                  " did not stop within 200 ms (state D)");
  CHECK(took < 2s);
  CHECK(tracer_of(pid, pid) == getpid());  // seized, and cannot be detached yet

  // Once the child exits the parent reaches its stop; the next stop() call
  // first detaches that leftover, then attaches normally.
  child_guard.kill_and_reap();
  REQUIRE(wait_until([&] { return thread_state(pid, pid) == 't'; }, 5s));
  auto again = StoppedProcess::stop(pid);
  REQUIRE_MESSAGE(again, again.error().message);
  CHECK(again->threads().size() == 1);
  again->detach();
  CHECK(tracer_of(pid, pid) == 0);
  // Running again: back in pause() as soon as it is scheduled.
  CHECK(wait_until([&] { return thread_state(pid, pid) == 'S'; }, 5s));
}
