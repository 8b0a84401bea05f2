// pyattach's exit statuses: one per kind of failure, so scripts can tell them apart.
#pragma once

#include "core/result.h"

namespace pyattach::cli {

enum ExitCode : int {
  kExitOk = 0,
  kExitCommandFailed = 1,     // a command ran but reported an error
  kExitUsage = 2,             // bad command line
  kExitNoSuchProcess = 3,
  kExitPermissionDenied = 4,
  kExitAlreadyTraced = 5,
  kExitNotPython = 6,
  kExitUnsupportedVersion = 7,
  kExitDebugInfo = 8,         // the interpreter's layout could not be learned
  kExitTargetMemory = 9,      // target memory unreadable or inconsistent
  kExitInternal = 10,
  kExitDeadlock = 11,         // `deadlock` found a lock cycle or a GIL stall
};

inline int exit_code_for(ErrorCode code) {
  switch (code) {
    case ErrorCode::kNoSuchProcess: return kExitNoSuchProcess;
    case ErrorCode::kPermissionDenied: return kExitPermissionDenied;
    case ErrorCode::kAlreadyTraced: return kExitAlreadyTraced;
    case ErrorCode::kNotPython: return kExitNotPython;
    case ErrorCode::kUnsupportedVersion: return kExitUnsupportedVersion;
    case ErrorCode::kDebugInfo: return kExitDebugInfo;
    case ErrorCode::kBadRemoteAddress:
    case ErrorCode::kCorruptData: return kExitTargetMemory;
    case ErrorCode::kUsage: return kExitUsage;
    case ErrorCode::kInterrupted: return 128 + 2;
    case ErrorCode::kInternal: break;
  }
  return kExitInternal;
}

}  // namespace pyattach::cli
