#include "attach/ptrace_wrapper.h"

#include <sys/ptrace.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "core/log.h"

namespace pyattach::attach {
namespace {

const char* request_name(__ptrace_request request) {
  switch (request) {
    case PTRACE_SEIZE: return "PTRACE_SEIZE";
    case PTRACE_INTERRUPT: return "PTRACE_INTERRUPT";
    case PTRACE_DETACH: return "PTRACE_DETACH";
    case PTRACE_GETREGS: return "PTRACE_GETREGS";
    case PTRACE_GETSIGINFO: return "PTRACE_GETSIGINFO";
    default: return "PTRACE_?";
  }
}

std::unexpected<Error> errno_error(const char* what, pid_t tid, int err) {
  return fail(ErrorCode::kInternal,
              std::string(what) + " on thread " + std::to_string(tid) + ": " +
                  std::strerror(err),
              err);
}

// The single ptrace() call site.
Result<long> do_ptrace(__ptrace_request request, pid_t tid, void* addr, void* data) {
  static const auto logger = log::get("ptrace");
  long r = 0;
  int err = 0;
  do {
    errno = 0;
    r = ::ptrace(request, tid, addr, data);
    err = errno;
  } while (r == -1 && err == EINTR);
  if (r == -1 && err != 0) {
    logger->trace("{}(tid={}, addr={}, data={}) -> {}", request_name(request), tid,
                  addr, data, strerrorname_np(err) ? strerrorname_np(err) : "?");
    return errno_error(request_name(request), tid, err);
  }
  logger->trace("{}(tid={}, addr={}, data={}) -> {}", request_name(request), tid, addr,
                data, r);
  return r;
}

// The single waitpid() call site.
Result<std::optional<WaitStatus>> do_wait(pid_t tid, int options) {
  static const auto logger = log::get("ptrace");
  int raw = 0;
  pid_t r = 0;
  do {
    r = ::waitpid(tid, &raw, options);
  } while (r == -1 && errno == EINTR);
  if (r == -1) {
    int err = errno;
    logger->trace("waitpid({}, {:#x}) -> {}", tid, options,
                  strerrorname_np(err) ? strerrorname_np(err) : "?");
    return errno_error("waitpid", tid, err);
  }
  if (r == 0) return std::nullopt;
  WaitStatus ws = WaitStatus::decode(raw);
  logger->trace("waitpid({}, {:#x}) -> {}", tid, options, ws.describe());
  return ws;
}

void* as_data(long v) { return reinterpret_cast<void*>(v); }

}  // namespace

Result<void> ptrace_seize(pid_t tid) {
  PYATTACH_TRY(do_ptrace(PTRACE_SEIZE, tid, nullptr, nullptr));
  return {};
}

Result<void> ptrace_interrupt(pid_t tid) {
  PYATTACH_TRY(do_ptrace(PTRACE_INTERRUPT, tid, nullptr, nullptr));
  return {};
}

Result<void> ptrace_detach(pid_t tid, int sig) {
  PYATTACH_TRY(do_ptrace(PTRACE_DETACH, tid, nullptr, as_data(sig)));
  return {};
}

Result<user_regs_struct> ptrace_get_regs(pid_t tid) {
  user_regs_struct regs{};
  PYATTACH_TRY(do_ptrace(PTRACE_GETREGS, tid, nullptr, &regs));
  return regs;
}

Result<siginfo_t> ptrace_get_siginfo(pid_t tid) {
  siginfo_t info{};
  PYATTACH_TRY(do_ptrace(PTRACE_GETSIGINFO, tid, nullptr, &info));
  return info;
}

Result<std::optional<WaitStatus>> wait_nohang(pid_t tid) {
  return do_wait(tid, __WALL | WNOHANG);
}

Result<std::optional<WaitStatus>> wait_until(
    pid_t tid, std::chrono::steady_clock::time_point deadline) {
  // Stops usually arrive within microseconds; back off to 5 ms so a slow
  // thread does not cost a busy loop.
  auto pause = std::chrono::microseconds(20);
  for (;;) {
    auto ws = PYATTACH_TRY(wait_nohang(tid));
    if (ws) return ws;
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(pause);
    pause = std::min<std::chrono::microseconds>(pause * 2, std::chrono::milliseconds(5));
  }
}

}  // namespace pyattach::attach
