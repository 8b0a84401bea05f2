#include "attach/proc_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "attach/permissions.h"

namespace pyattach::attach {

std::unexpected<Error> proc_errno_error(int err, const std::string& path, pid_t pid) {
  if ((err == ENOENT || err == ESRCH) && pid > 0)
    return fail(ErrorCode::kNoSuchProcess, "no process with pid " + std::to_string(pid),
                err, "check the pid with `ps -p " + std::to_string(pid) + "`");
  // /proc/PID/maps, mem, ... need ptrace access to PID: say why it is refused.
  if ((err == EACCES || err == EPERM) && pid > 0) return std::unexpected(permission_denied(pid));
  if (err == EACCES || err == EPERM)
    return fail(ErrorCode::kPermissionDenied,
                "cannot read " + path + ": " + std::strerror(err), err,
                "run pyattach as the target's user or as root");
  return fail(ErrorCode::kInternal, "cannot read " + path + ": " + std::strerror(err),
              err);
}

Result<std::string> read_proc_file(const std::string& path, std::size_t max_bytes,
                                   pid_t pid) {
  int fd = -1;
  do {
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return proc_errno_error(errno, path, pid);
  std::string out;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return proc_errno_error(err, path, pid);
    }
    if (n == 0) break;
    if (out.size() + static_cast<std::size_t>(n) > max_bytes) {
      ::close(fd);
      return fail(ErrorCode::kCorruptData,
                  path + " is larger than " + std::to_string(max_bytes) + " bytes");
    }
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

}  // namespace pyattach::attach
