#include <doctest/doctest.h>

#include <dirent.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "attach/live_memory.h"
#include "attach/proc.h"
#include "attach/stopped_process.h"
#include "support.h"

using namespace pyattach;
using namespace pyattach::attach;
using namespace pyattach::live;

namespace {

enum class Path { kVmReadv, kProcMem };

const char* path_name(Path p) { return p == Path::kVmReadv ? "process_vm_readv" : "/proc/PID/mem"; }

// LiveMemory reads the environment variable once, in its constructor.
std::unique_ptr<LiveMemory> make_memory(pid_t pid, Path path) {
  if (path == Path::kProcMem) setenv("PYATTACH_NO_PROCESS_VM_READV", "1", 1);
  auto mem = std::make_unique<LiveMemory>(pid);
  unsetenv("PYATTACH_NO_PROCESS_VM_READV");
  return mem;
}

// Does this process hold an fd on /proc/PID/mem? (Only the fallback opens it.)
bool holds_proc_mem(pid_t pid) {
  std::string want = "/proc/" + std::to_string(pid) + "/mem";
  std::unique_ptr<DIR, int (*)(DIR*)> dir(opendir("/proc/self/fd"), closedir);
  if (!dir) return false;
  while (dirent* e = readdir(dir.get())) {
    char buf[256];
    std::string link = std::string("/proc/self/fd/") + e->d_name;
    ssize_t n = readlink(link.c_str(), buf, sizeof buf - 1);
    if (n > 0 && std::string(buf, static_cast<std::size_t>(n)) == want) return true;
  }
  return false;
}

std::string to_string(const std::vector<std::byte>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size());
}

// The Python bytes object the target prints the address of.
std::string expected_payload() {
  std::string s = "pyattach-live-memory:";
  for (int rep = 0; rep < 64; ++rep)
    for (int i = 0; i < 256; ++i) s.push_back(static_cast<char>(i));
  return s;
}

}  // namespace

TEST_CASE("LiveMemory reads a known Python bytes object through both paths") {
  const std::string python = default_python();
  CAPTURE(python);
  std::string line;
  Child py = spawn_python(python,
                          "import ctypes, time\n"
                          "b = b'pyattach-live-memory:' + bytes(range(256)) * 64\n"
                          "addr = ctypes.cast(ctypes.c_char_p(b), ctypes.c_void_p).value\n"
                          "print(addr, len(b), id(b), flush=True)\n"
                          "while True: time.sleep(1)\n",
                          &line);
  std::istringstream in(line);
  std::uint64_t data = 0, len = 0, obj = 0;
  in >> data >> len >> obj;
  const std::string payload = expected_payload();
  REQUIRE(len == payload.size());  // > 4 pages: the read crosses page boundaries

  for (bool stopped : {false, true}) {
    std::optional<StoppedProcess> sp;
    if (stopped) {
      auto r = StoppedProcess::stop(py.pid());
      REQUIRE(r);
      sp.emplace(std::move(*r));
    }
    for (Path path : {Path::kVmReadv, Path::kProcMem}) {
      CAPTURE(stopped);
      CAPTURE(path_name(path));
      auto mem = make_memory(py.pid(), path);
      auto bytes = mem->read_bytes(RemoteAddr(data), len);
      REQUIRE_MESSAGE(bytes, bytes.error().message);
      CHECK(to_string(*bytes) == payload);
      // PyVarObject header (3.8-3.13): ob_refcnt, ob_type, ob_size.
      auto refcnt = mem->read_u64(RemoteAddr(obj));
      auto size = mem->read_u64(RemoteAddr(obj + 16));
      REQUIRE(refcnt);
      REQUIRE(size);
      CHECK(*refcnt >= 1);
      CHECK(*size == len);
      auto prefix = mem->read_c_string(RemoteAddr(data), 20);
      REQUIRE(prefix);
      CHECK(*prefix == "pyattach-live-memory");
      CHECK(mem->reads() >= 3);
      CHECK(mem->bytes_read() >= len + 16);
      CHECK(holds_proc_mem(py.pid()) == (path == Path::kProcMem));
    }
  }
  CHECK_FALSE(holds_proc_mem(py.pid()));  // the fd closes with LiveMemory
}

TEST_CASE("LiveMemory reads the ELF header of the target's executable") {
  auto target = spawn_native("heartbeat", 1);
  auto sp = StoppedProcess::stop(target.pid());
  REQUIRE(sp);
  auto maps = read_maps(target.pid());
  REQUIRE(maps);
  std::string exe = self_exe();  // the target runs this same binary
  const MemoryMapping* first = nullptr;
  for (const auto& m : *maps)
    if (m.path == exe && m.file_offset == 0) {
      first = &m;
      break;
    }
  REQUIRE(first != nullptr);
  for (Path path : {Path::kVmReadv, Path::kProcMem}) {
    CAPTURE(path_name(path));
    auto mem = make_memory(target.pid(), path);
    auto magic = mem->read_bytes(RemoteAddr(first->start), 4);
    REQUIRE(magic);
    CHECK(to_string(*magic) == "\x7f" "ELF");
    // A whole multi-page mapping in one read.
    auto whole = mem->read_bytes(RemoteAddr(first->start), first->end - first->start);
    REQUIRE(whole);
    CHECK(whole->size() == first->end - first->start);
  }
}

TEST_CASE("LiveMemory rejects garbage addresses and lengths without crashing") {
  auto target = spawn_native("heartbeat", 0);
  auto maps = read_maps(target.pid());
  REQUIRE(maps);
  // A readable mapping followed by a hole, to read across its end.
  const MemoryMapping* edge = nullptr;
  for (std::size_t i = 0; i < maps->size(); ++i) {
    const auto& m = (*maps)[i];
    bool hole_after = i + 1 == maps->size() || (*maps)[i + 1].start > m.end;
    if (m.readable && hole_after && m.end < (std::uint64_t{1} << 47)) {
      edge = &m;
      break;
    }
  }
  REQUIRE(edge != nullptr);

  for (Path path : {Path::kVmReadv, Path::kProcMem}) {
    CAPTURE(path_name(path));
    auto mem = make_memory(target.pid(), path);
    struct Bad {
      std::uint64_t addr;
      std::size_t len;
    };
    const Bad bad[] = {
        {0, 8},
        {0x1000, 8},
        {0xffffffffffffff00, 0x100},  // wraps around
        {0xffffffffffffff00, 8},      // kernel half
        {std::uint64_t{1} << 63, 8},  // negative as an off_t
        {edge->end - 8, 16},          // runs off the end of a mapping
        {edge->start, (std::size_t{64} << 20) + 1},  // over the 64 MiB cap
    };
    for (const auto& b : bad) {
      CAPTURE(b.addr);
      CAPTURE(b.len);
      Result<void> r;
      if (b.len <= (1 << 20)) {
        std::vector<std::byte> buf(b.len);
        r = mem->read(RemoteAddr(b.addr), buf);
      } else if (auto big = mem->read_bytes(RemoteAddr(b.addr), b.len); !big) {
        r = std::unexpected(big.error());
      }
      REQUIRE_FALSE(r);
      CHECK(r.error().code == ErrorCode::kBadRemoteAddress);
      CHECK_FALSE(r.error().message.empty());
    }
    auto before = mem->bytes_read();
    auto ok = mem->read_u64(RemoteAddr(edge->end - 8));  // the last word is fine
    CHECK(ok);
    CHECK(mem->bytes_read() == before + 8);
    CHECK(mem->read(RemoteAddr(0), {}).has_value());  // empty reads succeed
  }

  // A process that is gone.
  pid_t pid = target.pid();
  target.child.kill_and_reap();
  for (Path path : {Path::kVmReadv, Path::kProcMem}) {
    auto mem = make_memory(pid, path);
    auto r = mem->read_u64(RemoteAddr(edge->start));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == ErrorCode::kBadRemoteAddress);
  }
}
