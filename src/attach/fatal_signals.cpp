#include "attach/fatal_signals.h"

#include <signal.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <mutex>

#include "core/log.h"

namespace pyattach::attach::fatal_signals {
namespace {

constexpr std::array kSignals = {SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGQUIT};

// One seized thread. `packed` is 0 when free, else tracee tid (low 32 bits) |
// pending signal (bits 32..39). `tracer` is the kernel tid of the thread that
// seized it: ptrace only accepts requests from that thread.
struct Slot {
  std::atomic<std::uint64_t> packed{0};
  std::atomic<pid_t> tracer{0};
};
static_assert(std::atomic<std::uint64_t>::is_always_lock_free);
static_assert(std::atomic<pid_t>::is_always_lock_free);

std::array<Slot, kCapacity> g_slots;

// Guarded by g_mutex (normal code only).
std::mutex g_mutex;
int g_users = 0;
struct sigaction g_previous[kSignals.size()];
bool g_installed[kSignals.size()] = {};
bool g_warned_full = false;

constexpr std::uint64_t pack(pid_t tid, int sig) {
  return static_cast<std::uint32_t>(tid) |
         (static_cast<std::uint64_t>(static_cast<std::uint8_t>(sig)) << 32);
}
// A slot being filled in: tid 0, never detached.
constexpr std::uint64_t kClaimed = std::uint64_t{1} << 40;
pid_t unpack_tid(std::uint64_t v) { return static_cast<pid_t>(v & 0xffffffffu); }
int unpack_sig(std::uint64_t v) { return static_cast<int>((v >> 32) & 0xff); }

pid_t current_tid() { return static_cast<pid_t>(::syscall(SYS_gettid)); }

extern "C" void on_fatal_signal(int signo) {
  // Only async-signal-safe calls below: atomics, raw syscalls, sigaction, raise.
  int saved_errno = errno;
  pid_t self = current_tid();
  for (Slot& slot : g_slots) {
    std::uint64_t v = slot.packed.load(std::memory_order_acquire);
    if (unpack_tid(v) == 0 || slot.tracer.load(std::memory_order_acquire) != self)
      continue;
    ::syscall(SYS_ptrace, PTRACE_DETACH, unpack_tid(v), nullptr,
              static_cast<long>(unpack_sig(v)));
    slot.packed.store(0, std::memory_order_release);
  }
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  ::sigaction(signo, &dfl, nullptr);
  // signo is blocked while we run: the re-raised signal is delivered, with its
  // default action, as soon as the handler returns.
  ::raise(signo);
  errno = saved_errno;
}

Slot* find(pid_t tid, pid_t tracer) {
  for (Slot& slot : g_slots) {
    std::uint64_t v = slot.packed.load(std::memory_order_acquire);
    if (v != 0 && unpack_tid(v) == tid &&
        slot.tracer.load(std::memory_order_relaxed) == tracer)
      return &slot;
  }
  return nullptr;
}

}  // namespace

void acquire() {
  std::lock_guard lock(g_mutex);
  if (g_users++ > 0) return;
  static const auto logger = log::get("attach");
  for (std::size_t i = 0; i < kSignals.size(); ++i) {
    g_installed[i] = false;
    struct sigaction previous {};
    if (::sigaction(kSignals[i], nullptr, &previous) != 0) continue;
    if (previous.sa_handler == SIG_IGN && !(previous.sa_flags & SA_SIGINFO)) {
      logger->debug("signal {} is ignored; leaving it so", kSignals[i]);
      continue;
    }
    struct sigaction ours {};
    ours.sa_handler = on_fatal_signal;
    sigemptyset(&ours.sa_mask);
    for (int s : kSignals) sigaddset(&ours.sa_mask, s);  // one handler at a time
    ours.sa_flags = SA_RESTART;
    if (::sigaction(kSignals[i], &ours, &g_previous[i]) == 0) g_installed[i] = true;
  }
}

void release() {
  std::lock_guard lock(g_mutex);
  if (g_users == 0 || --g_users > 0) return;
  for (std::size_t i = 0; i < kSignals.size(); ++i) {
    if (!g_installed[i]) continue;
    g_installed[i] = false;
    // Someone (the CLI) may have installed a handler of its own since: keep it.
    struct sigaction current {};
    if (::sigaction(kSignals[i], nullptr, &current) == 0 &&
        current.sa_handler != on_fatal_signal)
      continue;
    ::sigaction(kSignals[i], &g_previous[i], nullptr);
  }
}

bool add(pid_t tid) {
  pid_t tracer = current_tid();
  for (Slot& slot : g_slots) {
    std::uint64_t expected = 0;
    if (slot.packed.load(std::memory_order_relaxed) != 0) continue;
    // Claim the slot with a tid-0 marker (skipped by the handler), then publish
    // the tracer, then the tid: the handler reads packed first.
    if (!slot.packed.compare_exchange_strong(expected, kClaimed,
                                             std::memory_order_acq_rel))
      continue;
    slot.tracer.store(tracer, std::memory_order_release);
    slot.packed.store(pack(tid, 0), std::memory_order_release);
    return true;
  }
  std::lock_guard lock(g_mutex);
  if (!g_warned_full) {
    g_warned_full = true;
    log::get("attach")->warn(
        "more than {} threads seized; the rest are detached only when pyattach exits",
        kCapacity);
  }
  return false;
}

void remove(pid_t tid) {
  if (Slot* slot = find(tid, current_tid()))
    slot->packed.store(0, std::memory_order_release);
}

void set_pending_signal(pid_t tid, int sig) {
  if (Slot* slot = find(tid, current_tid()))
    slot->packed.store(pack(tid, sig), std::memory_order_release);
}

}  // namespace pyattach::attach::fatal_signals
