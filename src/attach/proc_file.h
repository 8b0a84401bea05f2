// Private to attach/: reading whole /proc files and mapping their errno.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <string>

#include "core/result.h"

namespace pyattach::attach {

// Reads a whole /proc file (their size is 0 in stat, so read to EOF), at most
// max_bytes; longer files fail with kCorruptData. `pid` names the process in
// error messages; 0 for system files.
Result<std::string> read_proc_file(const std::string& path, std::size_t max_bytes,
                                   pid_t pid);

// ENOENT/ESRCH -> kNoSuchProcess, EACCES/EPERM -> kPermissionDenied, else
// kInternal; the message names the path.
std::unexpected<Error> proc_errno_error(int err, const std::string& path, pid_t pid);

}  // namespace pyattach::attach
