#include "attach/proc.h"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <memory>

#include "attach/proc_file.h"

namespace pyattach::attach {
namespace {

constexpr std::size_t kMaxStatusBytes = 1 << 20;
constexpr std::size_t kMaxMapsBytes = std::size_t{256} << 20;
constexpr std::size_t kMaxThreads = std::size_t{1} << 20;

// Parses a non-negative decimal pid; rejects trailing garbage and overflow.
bool parse_pid(std::string_view s, pid_t& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out, 10);
  return ec == std::errc() && p == s.data() + s.size() && out >= 0;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

struct DirCloser {
  void operator()(DIR* d) const { closedir(d); }
};

std::unexpected<Error> corrupt(std::string what) {
  return fail(ErrorCode::kCorruptData, "malformed /proc/PID/status: " + what);
}

// Fills `out` with the whitespace-separated decimal fields of `value` (Uid:,
// NSpid:), at most `max_fields`; false when one does not parse.
template <typename Number, typename Parse>
bool parse_fields(std::string_view value, std::size_t max_fields, Parse parse_one,
                  std::vector<Number>& out) {
  out.clear();
  std::string_view rest = trim(value);
  while (!rest.empty() && out.size() < max_fields) {
    auto sep = rest.find_first_of(" \t");
    Number n{};
    if (!parse_one(rest.substr(0, sep), n)) return false;
    out.push_back(n);
    rest = trim(sep == std::string_view::npos ? std::string_view{} : rest.substr(sep));
  }
  return true;
}

bool parse_uid(std::string_view s, uid_t& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out, 10);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

Result<ProcStatus> parse_status(std::string_view text) {
  ProcStatus st;
  bool have_name = false, have_state = false;
  // A status file has ~60 lines; the bound only guards against garbage input.
  for (std::size_t lines = 0; !text.empty() && lines < 4096; ++lines) {
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view key = line.substr(0, colon);
    std::string_view value = line.substr(colon + 1);
    if (key == "Name") {
      // The kernel writes exactly one tab, then the escaped comm, which may
      // itself start with a space: strip the tab only.
      if (!value.empty() && value.front() == '\t') value.remove_prefix(1);
      st.name = std::string(value);
      have_name = true;
    } else if (key == "State") {
      value = trim(value);
      if (value.empty()) return corrupt("empty State: value");
      st.state = value.front();
      have_state = true;
    } else if (key == "Tgid") {
      if (!parse_pid(trim(value), st.tgid))
        return corrupt("bad Tgid: value '" + std::string(trim(value)) + "'");
    } else if (key == "TracerPid") {
      if (!parse_pid(trim(value), st.tracer_pid))
        return corrupt("bad TracerPid: value '" + std::string(trim(value)) + "'");
    } else if (key == "Uid") {
      if (!parse_fields(value, 4, parse_uid, st.uids))
        return corrupt("bad Uid: value '" + std::string(trim(value)) + "'");
    } else if (key == "CapEff") {
      std::string_view hex = trim(value);
      std::uint64_t caps = 0;
      auto [p, ec] = std::from_chars(hex.data(), hex.data() + hex.size(), caps, 16);
      if (hex.empty() || ec != std::errc() || p != hex.data() + hex.size())
        return corrupt("bad CapEff: value '" + std::string(hex) + "'");
      st.cap_effective = caps;
    } else if (key == "NSpid") {
      if (!parse_fields(value, 64, parse_pid, st.ns_pids))
        return corrupt("bad NSpid: value '" + std::string(trim(value)) + "'");
    }
  }
  if (!have_name) return corrupt("no Name: line");
  if (!have_state) return corrupt("no State: line");
  return st;
}

Result<ProcStatus> read_status(pid_t pid) {
  auto text = PYATTACH_TRY(read_proc_file(
      "/proc/" + std::to_string(pid) + "/status", kMaxStatusBytes, pid));
  return parse_status(text);
}

Result<ProcStatus> read_thread_status(pid_t pid, pid_t tid) {
  auto text = PYATTACH_TRY(read_proc_file("/proc/" + std::to_string(pid) + "/task/" +
                                              std::to_string(tid) + "/status",
                                          kMaxStatusBytes, pid));
  return parse_status(text);
}

std::string read_thread_name(pid_t pid, pid_t tid) {
  auto text = read_proc_file(
      "/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid) + "/comm",
      4096, pid);
  if (!text) return {};
  std::string name = std::move(*text);
  while (!name.empty() && name.back() == '\n') name.pop_back();
  return name;
}

std::optional<std::string> read_fd_target(pid_t pid, int fd) {
  if (fd < 0) return std::nullopt;
  std::string path = "/proc/" + std::to_string(pid) + "/fd/" + std::to_string(fd);
  std::string target(4096, '\0');
  ssize_t n = readlink(path.c_str(), target.data(), target.size());
  if (n <= 0) return std::nullopt;
  target.resize(static_cast<std::size_t>(n));
  return target;
}

Result<std::vector<pid_t>> list_threads(pid_t pid) {
  std::string path = "/proc/" + std::to_string(pid) + "/task";
  std::unique_ptr<DIR, DirCloser> dir(opendir(path.c_str()));
  if (!dir) return proc_errno_error(errno, path, pid);
  std::vector<pid_t> tids;
  errno = 0;
  while (dirent* ent = readdir(dir.get())) {
    pid_t tid = 0;
    if (!parse_pid(ent->d_name, tid) || tid == 0) continue;
    tids.push_back(tid);
    if (tids.size() >= kMaxThreads) break;
    errno = 0;
  }
  // readdir reports a vanished directory (the process exited) via errno.
  if (errno != 0) return proc_errno_error(errno, path, pid);
  // The kernel lists the leader first in practice; make it explicit.
  std::sort(tids.begin(), tids.end(), [pid](pid_t a, pid_t b) {
    if ((a == pid) != (b == pid)) return a == pid;
    return a < b;
  });
  return tids;
}

Result<std::vector<MemoryMapping>> read_maps(pid_t pid) {
  auto text = PYATTACH_TRY(
      read_proc_file("/proc/" + std::to_string(pid) + "/maps", kMaxMapsBytes, pid));
  return parse_proc_maps(text);
}

std::string target_path(pid_t pid, const std::string& path) {
  std::string out = "/proc/" + std::to_string(pid) + "/root";
  if (path.empty() || path.front() != '/') out += '/';
  out += path;
  return out;
}

std::optional<int> ptrace_scope() {
  auto text = read_proc_file("/proc/sys/kernel/yama/ptrace_scope", 64, 0);
  if (!text) return std::nullopt;
  std::string_view s = trim(*text);
  while (!s.empty() && s.back() == '\n') s.remove_suffix(1);
  int value = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), value, 10);
  if (ec != std::errc() || p == s.data()) return std::nullopt;
  return value;
}

}  // namespace pyattach::attach
