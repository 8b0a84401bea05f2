#include "attach/live_memory.h"

#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <vector>
#include <algorithm>

#include <fmt/format.h>

#include "core/log.h"

namespace pyattach::attach {
namespace {

// Larger requests are a caller bug or a length read from garbage memory.
constexpr std::size_t kMaxRead = std::size_t{64} << 20;

const std::shared_ptr<spdlog::logger>& logger() {
  static const auto l = log::get("mem");
  return l;
}

bool env_forces_fallback() {
  const char* v = std::getenv("PYATTACH_NO_PROCESS_VM_READV");
  return v != nullptr && v[0] != '\0' && std::strcmp(v, "0") != 0;
}

std::unexpected<Error> bad_address(RemoteAddr addr, std::size_t len, int err,
                                   const char* what) {
  return fail(ErrorCode::kBadRemoteAddress,
              fmt::format("cannot read {} bytes at {:#x}: {}", len, addr.as_int(), what),
              err);
}

}  // namespace

LiveMemory::LiveMemory(pid_t pid) : pid_(pid), use_vm_readv_(!env_forces_fallback()) {
  if (!use_vm_readv_)
    logger()->debug("PYATTACH_NO_PROCESS_VM_READV set: reading /proc/{}/mem", pid_);
}

LiveMemory::~LiveMemory() {
  if (mem_fd_ >= 0) ::close(mem_fd_);
}

Result<void> LiveMemory::read(RemoteAddr addr, std::span<std::byte> dst) const {
  ++reads_;
  const std::size_t len = dst.size();
  if (len == 0) return {};
  if (len > kMaxRead) return bad_address(addr, len, EINVAL, "longer than 64 MiB");
  const std::uint64_t start = addr.as_int();
  // Wrapping ranges and the upper half (kernel space, and negative off_t for
  // pread) can never be user memory.
  if (start > std::numeric_limits<std::uint64_t>::max() - len ||
      start + len > (std::uint64_t{1} << 63))
    return bad_address(addr, len, EFAULT, "outside the user address space");

  std::size_t done = 0;
  if (use_vm_readv_) {
    // A partial read stops at the first unreadable page; retry the remainder
    // once more to tell "fault" (fails again) from a short transfer.
    while (done < len) {
      iovec local{dst.data() + done, len - done};
      iovec remote{reinterpret_cast<void*>(start + done), len - done};
      ++syscalls_;
      ssize_t n = ::process_vm_readv(pid_, &local, 1, &remote, 1, 0);
      if (n > 0) {
        done += static_cast<std::size_t>(n);
        continue;
      }
      int err = n < 0 ? errno : EFAULT;
      if (err == EINTR) continue;
      if (err == ENOSYS || err == EPERM) {
        // A seccomp filter (some containers) or a kernel without the syscall:
        // /proc/PID/mem needs only the ptrace access we already have.
        logger()->info("process_vm_readv unavailable ({}); reading /proc/{}/mem",
                       std::strerror(err), pid_);
        use_vm_readv_ = false;
        break;
      }
      logger()->trace("process_vm_readv({:#x}, {}) failed after {} bytes: {}", start, len,
                      done, std::strerror(err));
      return bad_address(addr, len, err,
                         err == ESRCH ? "the process has exited" : std::strerror(err));
    }
    if (done == len) {
      bytes_ += len;
      return {};
    }
  }

  if (mem_fd_ < 0) {
    std::string path = "/proc/" + std::to_string(pid_) + "/mem";
    int fd = -1;
    do {
      fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
      int err = errno;
      return fail(ErrorCode::kBadRemoteAddress,
                  fmt::format("cannot open {}: {}", path, std::strerror(err)), err);
    }
    mem_fd_ = fd;
  }
  while (done < len) {
    ++syscalls_;
    ssize_t n = ::pread(mem_fd_, dst.data() + done, len - done,
                        static_cast<off_t>(start + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = n < 0 ? errno : EIO;
      logger()->trace("pread(/proc/{}/mem, {:#x}, {}) failed after {} bytes: {}", pid_,
                      start, len, done, std::strerror(err));
      return bad_address(addr, len, err, std::strerror(err));
    }
    done += static_cast<std::size_t>(n);
  }
  bytes_ += len;
  return {};
}

void LiveMemory::read_many(std::span<ReadRequest> requests) const {
  constexpr std::size_t kMaxIov = 1024;  // IOV_MAX on Linux
  std::vector<iovec> local, remote;
  local.reserve(std::min(kMaxIov, requests.size()));
  remote.reserve(local.capacity());
  std::size_t next = 0;
  while (next < requests.size()) {
    if (!use_vm_readv_) {
      for (; next < requests.size(); ++next)
        requests[next].ok = static_cast<bool>(read(requests[next].addr, requests[next].dst));
      return;
    }
    // A batch of plain requests; anything read() would reject goes alone.
    local.clear();
    remote.clear();
    std::size_t end = next, total = 0;
    for (; end < requests.size() && local.size() < kMaxIov; ++end) {
      auto& r = requests[end];
      const std::uint64_t start = r.addr.as_int(), len = r.dst.size();
      if (len == 0 || len > kMaxRead || start > std::numeric_limits<std::uint64_t>::max() - len ||
          start + len > (std::uint64_t{1} << 63) ||
          total + len > std::numeric_limits<ssize_t>::max() / 2)
        break;
      // A request that continues the previous one on both sides (pages
      // fetched into consecutive slots) extends its iovec: fewer iovecs, and
      // more pages per call under IOV_MAX.
      if (!local.empty() &&
          static_cast<std::byte*>(local.back().iov_base) + local.back().iov_len == r.dst.data() &&
          reinterpret_cast<std::uint64_t>(remote.back().iov_base) + remote.back().iov_len == start) {
        local.back().iov_len += len;
        remote.back().iov_len += len;
      } else {
        local.push_back({r.dst.data(), len});
        remote.push_back({reinterpret_cast<void*>(start), len});
      }
      total += len;
    }
    if (local.empty()) {
      requests[next].ok = static_cast<bool>(read(requests[next].addr, requests[next].dst));
      ++next;
      continue;
    }
    ++reads_;
    ++syscalls_;
    ssize_t n = ::process_vm_readv(pid_, local.data(), local.size(), remote.data(),
                                   remote.size(), 0);
    if (n < 0 && (errno == ENOSYS || errno == EPERM || errno == EINTR)) {
      // Let read() decide (fallback to /proc/PID/mem, or retry).
      requests[next].ok = static_cast<bool>(read(requests[next].addr, requests[next].dst));
      ++next;
      continue;
    }
    std::size_t got = n > 0 ? static_cast<std::size_t>(n) : 0;
    bytes_ += got;
    // Whole requests delivered; the kernel stops at the first faulting one.
    for (; next < end && got >= requests[next].dst.size(); ++next) {
      got -= requests[next].dst.size();
      requests[next].ok = true;
    }
    if (next < end) {
      requests[next].ok = static_cast<bool>(read(requests[next].addr, requests[next].dst));
      ++next;
    }
  }
}

}  // namespace pyattach::attach
