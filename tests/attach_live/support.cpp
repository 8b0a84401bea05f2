#include "support.h"

#include <fcntl.h>
#include <glob.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "attach/proc.h"
#include "attach/stopped_process.h"

namespace pyattach::live {
namespace {

pid_t gettid_() { return static_cast<pid_t>(::syscall(SYS_gettid)); }

Shared* g_shared = nullptr;

extern "C" void on_usr1(int) { g_shared->usr1.fetch_add(1); }
extern "C" void on_rt(int) { g_shared->rt.fetch_add(1); }

void tick(int i) {
  g_shared->beats[i].fetch_add(1);
  ::usleep(300);
}

Shared* map_shared(int fd) {
  void* p = ::mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) return nullptr;
  return static_cast<Shared*>(p);
}

// Target: every thread increments its own beat counter forever.
int heartbeat_main(Shared* sh, int nthreads, bool churn) {
  g_shared = sh;
  struct sigaction sa {};
  sa.sa_handler = on_usr1;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGUSR1, &sa, nullptr);
  sa.sa_handler = on_rt;
  ::sigaction(SIGRTMIN + 1, &sa, nullptr);

  sh->tids[0] = gettid_();
  for (int i = 1; i <= nthreads && i < Shared::kMaxThreads; ++i) {
    std::thread([sh, i, churn] {
      sh->tids[i] = gettid_();
      sh->nthreads.fetch_add(1);
      for (;;) {
        if (churn) {
          // Threads that live for microseconds: they appear in and vanish
          // from /proc/PID/task while the tracer lists it.
          std::thread([] {}).join();
          sh->spawned.fetch_add(1);
          sh->beats[i].fetch_add(1);
        } else {
          tick(i);
        }
      }
    }).detach();
  }
  sh->nthreads.fetch_add(1);
  while (sh->nthreads.load() < static_cast<std::uint32_t>(nthreads + 1)) ::usleep(100);
  sh->ready = 1;
  for (;;) tick(0);
}

// Holder: stops a target with StoppedProcess, reports on fd, then waits to be
// killed. Optional uid: drop privileges first (for the EPERM test).
int holder_main(pid_t target, int fd, int uid) {
  rlimit no_core{0, 0};
  ::setrlimit(RLIMIT_CORE, &no_core);
  if (uid >= 0) {
    if (::setgroups(0, nullptr) != 0 || ::setgid(static_cast<gid_t>(uid)) != 0 ||
        ::setuid(static_cast<uid_t>(uid)) != 0)
      return 3;
  }
  auto sp = attach::StoppedProcess::stop(target);
  std::string msg;
  if (sp) {
    msg = "ok " + std::to_string(sp->threads().size()) + "\n";
  } else {
    msg = "err " + std::to_string(static_cast<int>(sp.error().code)) + " " +
          sp.error().message + "|" + sp.error().hint + "\n";
  }
  if (::write(fd, msg.data(), msg.size()) < 0) return 4;
  if (!sp) return 0;
  for (;;) ::pause();
}

}  // namespace

Child::~Child() {
  kill_and_reap();
  if (out_fd_ >= 0) ::close(out_fd_);
}

void Child::kill_and_reap() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  // SIGKILL ends even a stopped or traced process; the loop skips any stop
  // reports still queued for us. Bounded: a killed child reports exit soon.
  for (int i = 0; i < 1000; ++i) {
    int st = 0;
    pid_t r = ::waitpid(pid_, &st, __WALL);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 || WIFEXITED(st) || WIFSIGNALED(st)) break;
  }
  pid_ = 0;
}

std::optional<int> Child::wait_exit(std::chrono::milliseconds timeout) {
  std::optional<int> status;
  wait_until(
      [&] {
        int st = 0;
        pid_t r = ::waitpid(pid_, &st, WNOHANG);
        if (r == pid_ && (WIFEXITED(st) || WIFSIGNALED(st))) {
          status = st;
          pid_ = 0;
          return true;
        }
        return false;
      },
      timeout);
  return status;
}

NativeTarget::~NativeTarget() {
  child.kill_and_reap();
  if (shared) ::munmap(shared, sizeof(Shared));
  if (memfd >= 0) ::close(memfd);
}

std::uint64_t NativeTarget::total_beats() const {
  std::uint64_t sum = 0;
  for (auto& b : shared->beats) sum += b.load();
  return sum;
}

bool NativeTarget::all_threads_beating(std::chrono::milliseconds timeout) const {
  std::uint32_t n = shared->nthreads.load();
  std::vector<std::uint64_t> before(n);
  for (std::uint32_t i = 0; i < n; ++i) before[i] = shared->beats[i].load();
  return wait_until(
      [&] {
        for (std::uint32_t i = 0; i < n; ++i)
          if (shared->beats[i].load() == before[i]) return false;
        return true;
      },
      timeout);
}

NativeTarget spawn_native(const std::string& mode, int nthreads) {
  NativeTarget t;
  t.memfd = ::memfd_create("pyattach-live", 0);  // inherited across exec
  if (t.memfd < 0 || ::ftruncate(t.memfd, sizeof(Shared)) != 0)
    throw std::runtime_error("memfd");
  t.shared = map_shared(t.memfd);
  if (!t.shared) throw std::runtime_error("mmap");
  new (t.shared) Shared();
  t.child = spawn_self({mode, std::to_string(t.memfd), std::to_string(nthreads)});
  if (!wait_until([&] { return t.shared->ready.load() != 0; }, 10s))
    throw std::runtime_error("target " + mode + " did not become ready");
  return t;
}

Child spawn_self(const std::vector<std::string>& args) {
  std::string exe = self_exe();
  std::vector<std::string> all = {exe, "--target"};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork");
  if (pid == 0) {
    ::execv(exe.c_str(), argv.data());
    ::_exit(127);
  }
  return Child(pid);
}

Child spawn_command(const std::vector<std::string>& args) {
  std::vector<std::string> copy = args;
  std::vector<char*> argv;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork");
  if (pid == 0) {
    int null = ::open("/dev/null", O_RDWR);
    ::dup2(null, 1);
    ::dup2(null, 2);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  return Child(pid);
}

Child spawn_python(const std::string& python, const std::string& code,
                   std::string* first_line) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork");
  if (pid == 0) {
    ::dup2(fds[1], 1);
    const char* argv[] = {python.c_str(), "-u", "-c", code.c_str(), nullptr};
    ::execv(python.c_str(), const_cast<char* const*>(argv));
    ::_exit(127);
  }
  ::close(fds[1]);
  Child c(pid);
  c.set_out_fd(fds[0]);
  auto line = read_line(fds[0], 20s);
  if (!line) throw std::runtime_error(python + " printed nothing");
  if (first_line) *first_line = *line;
  return c;
}

std::optional<std::string> read_line(int fd, std::chrono::milliseconds timeout) {
  std::string line;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    int r = ::poll(&p, 1, 50);
    if (r <= 0) continue;
    char c;
    ssize_t n = ::read(fd, &c, 1);
    if (n <= 0) return std::nullopt;
    if (c == '\n') return line;
    line += c;
  }
  return std::nullopt;
}

char thread_state(pid_t pid, pid_t tid) {
  auto st = attach::read_thread_status(pid, tid);
  return st ? st->state : '?';
}

pid_t tracer_of(pid_t pid, pid_t tid) {
  auto st = attach::read_thread_status(pid, tid);
  return st ? st->tracer_pid : -1;
}

std::vector<pid_t> task_ids(pid_t pid) {
  auto t = attach::list_threads(pid);
  return t ? *t : std::vector<pid_t>{};
}

std::uint64_t cpu_ticks(pid_t pid) {
  std::string text;
  int fd = ::open(("/proc/" + std::to_string(pid) + "/stat").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char buf[4096];
  ssize_t n = ::read(fd, buf, sizeof buf);
  ::close(fd);
  if (n > 0) text.assign(buf, static_cast<std::size_t>(n));
  // Fields after the parenthesised comm: state is field 3, utime 14, stime 15.
  auto close = text.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream rest(text.substr(close + 2));
  std::string field;
  std::uint64_t utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return utime + stime;
}

bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (pred()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
}

std::vector<std::string> python_interpreters() {
  if (const char* env = std::getenv("PYATTACH_TEST_PYTHONS")) {
    std::vector<std::string> out;
    std::stringstream ss(env);
    for (std::string item; std::getline(ss, item, ':');)
      if (!item.empty()) out.push_back(item);
    return out;
  }
  std::vector<std::string> patterns = {"/usr/bin/python3.[0-9]*"};
  const char* root = std::getenv("PYENV_ROOT");
  const char* home = std::getenv("HOME");
  std::string pyenv = root ? root : (home ? std::string(home) + "/.pyenv" : "");
  if (!pyenv.empty()) patterns.push_back(pyenv + "/versions/*/bin/python3.[0-9]*");
  std::map<int, std::string> by_minor;
  for (const auto& pattern : patterns) {
    glob_t g{};
    if (::glob(pattern.c_str(), 0, nullptr, &g) == 0) {
      for (std::size_t i = 0; i < g.gl_pathc; ++i) {
        std::string path = g.gl_pathv[i];
        std::string name = path.substr(path.rfind('/') + 1);  // python3.X
        int minor = 0;
        char tail = 0;
        if (std::sscanf(name.c_str(), "python3.%d%c", &minor, &tail) != 1) continue;
        if (minor < 8 || minor > 13 || ::access(path.c_str(), X_OK) != 0) continue;
        by_minor.emplace(minor, path);  // the first pattern wins
      }
    }
    ::globfree(&g);
  }
  std::vector<std::string> out;
  for (auto& [minor, path] : by_minor) out.push_back(path);
  return out;
}

std::string default_python() {
  if (::access("/usr/bin/python3.11", X_OK) == 0) return "/usr/bin/python3.11";
  auto all = python_interpreters();
  return all.empty() ? "/usr/bin/python3" : all.back();
}

std::string self_exe() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return {};
  return std::string(buf, static_cast<std::size_t>(n));
}

int target_main(int argc, char** argv) {
  if (argc < 1) return 2;
  std::string mode = argv[0];
  if (mode == "exit-now") return 0;
  if (mode == "vfork") {
    // The parent sleeps (killable, state D) until the child execs or exits;
    // the child pauses forever. PTRACE_INTERRUPT cannot stop the parent.
    pid_t child = ::vfork();
    if (child == 0) {
      for (;;) ::pause();
    }
    for (;;) ::pause();
  }
  if ((mode == "heartbeat" || mode == "churn") && argc == 3) {
    Shared* sh = map_shared(std::atoi(argv[1]));
    if (!sh) return 2;
    return heartbeat_main(sh, std::atoi(argv[2]), mode == "churn");
  }
  if (mode == "holder" && argc >= 3)
    return holder_main(std::atoi(argv[1]), std::atoi(argv[2]),
                       argc >= 4 ? std::atoi(argv[3]) : -1);
  return 2;
}

}  // namespace pyattach::live
