// x86-64 system call decoding for thread state (core/syscalls.h).
#include <doctest/doctest.h>

#include <map>

#include "core/syscalls.h"

using namespace pyattach;

TEST_CASE("syscall names come from the kernel headers") {
  CHECK(syscall_name(0) == "read");
  CHECK(syscall_name(1) == "write");
  CHECK(syscall_name(7) == "poll");
  CHECK(syscall_name(23) == "select");
  CHECK(syscall_name(45) == "recvfrom");
  CHECK(syscall_name(61) == "wait4");
  CHECK(syscall_name(202) == "futex");
  CHECK(syscall_name(219) == "restart_syscall");
  CHECK(syscall_name(230) == "clock_nanosleep");
  CHECK(syscall_name(232) == "epoll_wait");
  CHECK(syscall_name(288) == "accept4");
  CHECK(syscall_name(435) == "clone3");  // after the 335..423 gap
  CHECK(syscall_name(-1).empty());
  CHECK(syscall_name(100000).empty());
  CHECK(syscall_number("futex") == 202);
  CHECK(syscall_number("clock_nanosleep") == 230);
  CHECK_FALSE(syscall_number("no_such_call"));
  CHECK(kSysRestartSyscall == *syscall_number("restart_syscall"));
}

TEST_CASE("a thread is in a system call only while the call was cut short by the stop") {
  auto neg = [](std::int64_t e) { return static_cast<std::uint64_t>(-e); };
  CHECK(stopped_in_syscall(0, neg(512)));     // read: -ERESTARTSYS
  CHECK(stopped_in_syscall(230, neg(516)));   // clock_nanosleep: -ERESTART_RESTARTBLOCK
  CHECK(stopped_in_syscall(202, neg(513)));   // -ERESTARTNOINTR
  CHECK(stopped_in_syscall(7, neg(514)));     // poll: -ERESTARTNOHAND
  CHECK(stopped_in_syscall(232, neg(4)));     // epoll_wait: -EINTR, not restarted
  CHECK_FALSE(stopped_in_syscall(-1, neg(512)));  // stopped in user code
  CHECK_FALSE(stopped_in_syscall(0, 5));          // read returned 5 bytes just before
  CHECK_FALSE(stopped_in_syscall(0, neg(11)));    // returned -EAGAIN on its own
}

TEST_CASE("descriptions name fds through the namer") {
  std::map<int, std::string> fds = {{3, "anon_inode:[eventpoll]"}, {7, "socket:[12345]"},
                                    {9, "pipe:[678]"}};
  FdNamer namer = [&](int fd) -> std::optional<std::string> {
    auto it = fds.find(fd);
    if (it == fds.end()) return std::nullopt;
    return it->second;
  };
  using A = std::array<std::uint64_t, 6>;
  CHECK(describe_syscall(0, A{7, 0x1000, 1}, namer) == "read(fd=7 -> socket:[12345])");
  CHECK(describe_syscall(0, A{9}, namer) == "read(fd=9 -> pipe:[678])");
  CHECK(describe_syscall(0, A{42}, namer) == "read(fd=42)");  // closed since
  CHECK(describe_syscall(0, A{7}, nullptr) == "read(fd=7)");
  CHECK(describe_syscall(45, A{7}, namer) == "recvfrom(fd=7 -> socket:[12345])");
  CHECK(describe_syscall(288, A{7}, namer) == "accept4(fd=7 -> socket:[12345])");
  CHECK(describe_syscall(232, A{3, 0, 16, static_cast<std::uint64_t>(-1)}, namer) ==
        "epoll_wait(epfd=3 -> anon_inode:[eventpoll], timeout=-1)");
  CHECK(describe_syscall(202, A{0x7f0012345678, 0x89}, namer) ==
        "futex(0x7f0012345678, FUTEX_WAIT_BITSET_PRIVATE)");
  CHECK(describe_syscall(202, A{0x1000, 0x80}, namer) == "futex(0x1000, FUTEX_WAIT_PRIVATE)");
  CHECK(describe_syscall(230, A{1, 0}, namer) == "clock_nanosleep(CLOCK_MONOTONIC)");
  CHECK(describe_syscall(230, A{0, 1}, namer) == "clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME)");
  CHECK(describe_syscall(7, A{0x1000, 2, 5000}, namer) == "poll(nfds=2, timeout=5000)");
  CHECK(describe_syscall(23, A{0}, namer) == "select(nfds=0)");
  CHECK(describe_syscall(61, A{1234}, namer) == "wait4(pid=1234)");
  CHECK(describe_syscall(34, A{}, namer) == "pause()");
  CHECK(describe_syscall(99999, A{}, namer) == "syscall_99999()");
  // A garbage fd register: only the low 32 bits are the int argument.
  CHECK(describe_syscall(0, A{0xffffffff00000007}, namer) == "read(fd=7 -> socket:[12345])");
  CHECK(describe_syscall(0, A{0xffffffff}, namer) == "read(fd=-1)");
}

TEST_CASE("futex operations") {
  CHECK(futex_op_name(0) == "FUTEX_WAIT");
  CHECK(futex_op_name(1 | 128) == "FUTEX_WAKE_PRIVATE");
  CHECK(futex_op_name(9 | 256) == "FUTEX_WAIT_BITSET|FUTEX_CLOCK_REALTIME");
  CHECK(futex_op_name(0x3f) == "FUTEX_0x3f");
}

TEST_CASE("restart_syscall is resolved from the libc wrapper's name") {
  CHECK(syscall_from_wrapper_name("__futex_abstimed_wait_common") == 202);
  CHECK(syscall_from_wrapper_name("clock_nanosleep@@GLIBC_2.17") == 230);
  CHECK(syscall_from_wrapper_name("__GI___clock_nanosleep") == 230);
  CHECK(syscall_from_wrapper_name("__GI___poll") == 7);
  CHECK(syscall_from_wrapper_name("sleep") == 230);
  CHECK(syscall_from_wrapper_name("__select") == 23);
  CHECK_FALSE(syscall_from_wrapper_name(""));
  CHECK_FALSE(syscall_from_wrapper_name("PyEval_RestoreThread"));
}
