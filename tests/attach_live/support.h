// Helpers for the live attach tests: spawning, watching and always reaping
// real target processes.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace pyattach::live {

using namespace std::chrono_literals;

// Memory shared between the test and a target run in "heartbeat"/"churn" mode
// (this binary re-executed, see target_main). Placed in a memfd that the child
// inherits, so the test can watch the target without ptrace.
struct Shared {
  static constexpr int kMaxThreads = 16;
  std::atomic<std::uint32_t> ready{0};
  std::atomic<std::uint32_t> nthreads{0};
  std::atomic<pid_t> tids[kMaxThreads];
  std::atomic<std::uint64_t> beats[kMaxThreads];  // one counter per thread
  std::atomic<std::uint64_t> usr1{0};             // SIGUSR1 handler runs
  std::atomic<std::uint64_t> rt{0};               // SIGRTMIN+1 handler runs
  std::atomic<std::uint64_t> spawned{0};          // churn: threads started
};

// A child process that is SIGKILLed and reaped when this object dies, whatever
// state (stopped, traced) it is in.
class Child {
 public:
  Child() = default;
  explicit Child(pid_t pid) : pid_(pid) {}
  Child(Child&& o) noexcept : pid_(o.pid_), out_fd_(o.out_fd_) { o.pid_ = 0; o.out_fd_ = -1; }
  Child& operator=(Child&& o) noexcept {
    std::swap(pid_, o.pid_);
    std::swap(out_fd_, o.out_fd_);
    return *this;
  }
  Child(const Child&) = delete;
  ~Child();
  pid_t pid() const { return pid_; }
  // The read end of the child's stdout (python targets), or -1.
  int out_fd() const { return out_fd_; }
  void set_out_fd(int fd) { out_fd_ = fd; }
  // Kills (SIGKILL) and reaps; idempotent.
  void kill_and_reap();
  // Waits for the child to exit and returns its raw wait status.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);

 private:
  pid_t pid_ = 0;
  int out_fd_ = -1;
};

// A target running this binary in "heartbeat" (threads incrementing beats) or
// "churn" (threads starting and joining threads in a loop) mode.
struct NativeTarget {
  Child child;
  Shared* shared = nullptr;
  int memfd = -1;
  NativeTarget() = default;
  NativeTarget(NativeTarget&& o) noexcept
      : child(std::move(o.child)), shared(std::exchange(o.shared, nullptr)),
        memfd(std::exchange(o.memfd, -1)) {}
  NativeTarget& operator=(NativeTarget&&) = delete;
  ~NativeTarget();
  pid_t pid() const { return child.pid(); }
  std::uint64_t total_beats() const;
  // True if every thread's beat counter advanced within `timeout`.
  bool all_threads_beating(std::chrono::milliseconds timeout) const;
};
NativeTarget spawn_native(const std::string& mode, int nthreads);

// Runs this binary in another mode (e.g. "holder") with extra arguments; the
// child inherits every fd not marked close-on-exec.
Child spawn_self(const std::vector<std::string>& args);

// Runs argv[0] (a path) with argv, stdout and stderr to /dev/null.
Child spawn_command(const std::vector<std::string>& argv);

// Spawns `python -c code` with stdout on a pipe; returns once the first line
// has arrived (stored in *first_line) or fails the test.
Child spawn_python(const std::string& python, const std::string& code,
                   std::string* first_line);

// Reads one line from fd within timeout (without the newline).
std::optional<std::string> read_line(int fd, std::chrono::milliseconds timeout);

// Single-letter State: of a thread, '?' if unreadable.
char thread_state(pid_t pid, pid_t tid);
pid_t tracer_of(pid_t pid, pid_t tid);
std::vector<pid_t> task_ids(pid_t pid);
// utime + stime of the whole process, in clock ticks (a heartbeat for targets
// we cannot instrument).
std::uint64_t cpu_ticks(pid_t pid);

// Polls pred every millisecond until it holds or timeout passes.
bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout);

// Python interpreters to run live tests on: /usr/bin/python3.* and pyenv's
// versions/*/bin/python3.X for X in 8..13, deduplicated by version.
std::vector<std::string> python_interpreters();
// The one interpreter used by single-interpreter tests.
std::string default_python();

std::string self_exe();

// Entry point for the re-executed modes; returns the exit code.
int target_main(int argc, char** argv);

}  // namespace pyattach::live
