// x86-64 Linux system calls as a stopped thread shows them: whether it is in
// one, its name, and a one-line description of its arguments.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace pyattach {

// The name of x86-64 system call `number` ("read", "futex"), from the
// kernel headers (linux-libc-dev's asm/unistd_64.h, read at build time);
// empty if unknown.
std::string_view syscall_name(std::int64_t number);
// The number of a named system call, or nullopt.
std::optional<std::int64_t> syscall_number(std::string_view name);

// Whether a thread stopped by PTRACE_INTERRUPT sits inside a system call.
// The interrupt makes a blocking call return to the kernel's exit path with
// rax = -ERESTARTSYS, -ERESTARTNOINTR, -ERESTARTNOHAND, -ERESTART_RESTARTBLOCK
// (restarted on resume) or -EINTR (calls that are never restarted, e.g.
// epoll_wait), while orig_rax keeps the call's number. A thread stopped in
// user code has orig_rax == -1; one caught right after a call returned on its
// own has a real result in rax: neither is "in" a system call.
bool stopped_in_syscall(std::int64_t orig_rax, std::uint64_t rax);

// What an fd points to ("socket:[12345]", "pipe:[678]", "/var/log/x.log",
// "anon_inode:[eventpoll]"), or nullopt when unknown.
using FdNamer = std::function<std::optional<std::string>(int fd)>;

// One line for a system call and its register arguments, naming fds through
// `name_fd`: "read(fd=7 -> socket:[12345])", "epoll_wait(epfd=3 ->
// anon_inode:[eventpoll], timeout=-1)", "futex(0x7f0012345678,
// FUTEX_WAIT_BITSET_PRIVATE)", "clock_nanosleep(CLOCK_MONOTONIC)",
// "poll(nfds=1, timeout=5000)", "wait4(pid=1234)". Calls without a rule give
// "name()"; unknown numbers "syscall_N()".
std::string describe_syscall(std::int64_t number, const std::array<std::uint64_t, 6>& args,
                             const FdNamer& name_fd);

// restart_syscall (219): the kernel's way to resume a call cut short by a
// stop. Which call it resumes is the kernel's secret, but the thread's
// innermost libc frame names it: "__futex_abstimed_wait_common" -> futex,
// "clock_nanosleep@@GLIBC_2.17" -> clock_nanosleep, "__GI___poll" -> poll.
// nullopt when the name says nothing.
inline constexpr std::int64_t kSysRestartSyscall = 219;
std::optional<std::int64_t> syscall_from_wrapper_name(std::string_view symbol);

// "FUTEX_WAIT_BITSET_PRIVATE", "FUTEX_WAKE|FUTEX_CLOCK_REALTIME", "FUTEX_0x3f".
std::string futex_op_name(std::uint64_t op);

}  // namespace pyattach
