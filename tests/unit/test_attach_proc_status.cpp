#include <doctest/doctest.h>

#include <unistd.h>

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "attach/proc.h"

using namespace pyattach;
using namespace pyattach::attach;

TEST_CASE("parse_status reads Name, State, Tgid, TracerPid, NSpid") {
  struct Case {
    const char* name;
    std::string_view text;
    std::string_view comm;
    char state;
    pid_t tgid;
    pid_t tracer;
    std::vector<pid_t> ns_pids;
  };
  const std::array cases = {
      Case{"sleeping python",
           "Name:\tpython3.12\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t4242\n"
           "Ngid:\t0\nPid:\t4242\nPPid:\t1\nTracerPid:\t0\nUid:\t0\t0\t0\t0\n"
           "NSpid:\t4242\n",
           "python3.12", 'S', 4242, 0, {4242}},
      Case{"traced by gdb",
           "Name:\tpython3\nState:\tt (tracing stop)\nTgid:\t7\nTracerPid:\t999\n",
           "python3", 't', 7, 999, {}},
      Case{"group-stopped", "Name:\tsleep\nState:\tT (stopped)\n", "sleep", 'T', 0, 0, {}},
      Case{"in a container: NSpid outermost first",
           "Name:\tpython\nState:\tR (running)\nNSpid:\t31337\t12\t1\n", "python", 'R', 0, 0,
           {31337, 12, 1}},
      Case{"comm with spaces and a leading space",
           "Name:\t my worker\nState:\tD (disk sleep)\n", " my worker", 'D', 0, 0, {}},
      Case{"zombie, no trailing newline", "Name:\tpython3\nState:\tZ (zombie)", "python3",
           'Z', 0, 0, {}},
      Case{"unknown and malformed extra lines are ignored",
           "garbage\nName:\tx\n\nState:\tI (idle)\nWeird: line: here\n", "x", 'I', 0, 0,
           {}},
  };
  for (const auto& c : cases) {
    SUBCASE(c.name) {
      auto st = parse_status(c.text);
      REQUIRE(st);
      CHECK(st->name == c.comm);
      CHECK(st->state == c.state);
      CHECK(st->tgid == c.tgid);
      CHECK(st->tracer_pid == c.tracer);
      CHECK(st->ns_pids == c.ns_pids);
    }
  }
}

TEST_CASE("parse_status names what is malformed") {
  struct Case {
    const char* name;
    std::string_view text;
    std::string_view error;
  };
  const std::array cases = {
      Case{"empty", "", "malformed /proc/PID/status: no Name: line"},
      Case{"no state", "Name:\tpython3\nTracerPid:\t0\n",
           "malformed /proc/PID/status: no State: line"},
      Case{"empty state", "Name:\tpython3\nState:\t\n",
           "malformed /proc/PID/status: empty State: value"},
      Case{"bad tracer", "Name:\tp\nState:\tS\nTracerPid:\tabc\n",
           "malformed /proc/PID/status: bad TracerPid: value 'abc'"},
      Case{"negative tracer", "Name:\tp\nState:\tS\nTracerPid:\t-1\n",
           "malformed /proc/PID/status: bad TracerPid: value '-1'"},
      Case{"tracer overflow", "Name:\tp\nState:\tS\nTracerPid:\t99999999999\n",
           "malformed /proc/PID/status: bad TracerPid: value '99999999999'"},
      Case{"bad nspid", "Name:\tp\nState:\tS\nNSpid:\t12\tx3\n",
           "malformed /proc/PID/status: bad NSpid: value '12\tx3'"},
      Case{"bad tgid", "Name:\tp\nState:\tS\nTgid:\t\n",
           "malformed /proc/PID/status: bad Tgid: value ''"},
      Case{"bad uid", "Name:\tp\nState:\tS\nUid:\t0\t-1\t0\t0\n",
           "malformed /proc/PID/status: bad Uid: value '0\t-1\t0\t0'"},
      Case{"bad capeff", "Name:\tp\nState:\tS\nCapEff:\t00zz\n",
           "malformed /proc/PID/status: bad CapEff: value '00zz'"},
  };
  for (const auto& c : cases) {
    SUBCASE(c.name) {
      auto st = parse_status(c.text);
      REQUIRE_FALSE(st);
      CHECK(st.error().code == ErrorCode::kCorruptData);
      CHECK(st.error().message == c.error);
    }
  }
}

TEST_CASE("target_path goes through /proc/PID/root") {
  CHECK(target_path(42, "/usr/lib/libpython3.12.so") ==
        "/proc/42/root/usr/lib/libpython3.12.so");
  CHECK(target_path(42, "relative") == "/proc/42/root/relative");
}

TEST_CASE("proc readers on our own process") {
  // Not a live-target test: /proc/self always exists, nothing is attached.
  pid_t self = getpid();
  auto st = read_status(self);
  REQUIRE(st);
  CHECK(st->tgid == self);
  CHECK(st->tracer_pid == 0);
  auto tids = list_threads(self);
  REQUIRE(tids);
  REQUIRE_FALSE(tids->empty());
  CHECK(tids->front() == self);
  auto maps = read_maps(self);
  REQUIRE(maps);
  CHECK_FALSE(maps->empty());
  CHECK_FALSE(read_thread_name(self, self).empty());

  auto missing = read_status(0x3fffffff);
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code == ErrorCode::kNoSuchProcess);
  CHECK(missing.error().message == "no process with pid 1073741823");
  auto no_tasks = list_threads(0x3fffffff);
  REQUIRE_FALSE(no_tasks);
  CHECK(no_tasks.error().code == ErrorCode::kNoSuchProcess);
}

TEST_CASE("parse_status reads Uid (real, effective, saved, fs) and CapEff") {
  auto st = parse_status(
      "Name:\tpython3\nState:\tS (sleeping)\nUid:\t1000\t0\t1000\t0\n"
      "CapInh:\t0000000000000000\nCapEff:\t000001fffeffffff\n");
  REQUIRE(st);
  CHECK(st->uids == std::vector<uid_t>{1000, 0, 1000, 0});
  REQUIRE(st->cap_effective);
  CHECK(*st->cap_effective == 0x000001fffeffffffull);
  CHECK(((*st->cap_effective >> 19) & 1) == 1);  // CAP_SYS_PTRACE
  auto bare = parse_status("Name:\tx\nState:\tS\n");
  REQUIRE(bare);
  CHECK(bare->uids.empty());
  CHECK(!bare->cap_effective);
}
