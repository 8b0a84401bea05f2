// Expected failures travel as Result<T>; see CONTRIBUTING.md, "Errors".
#pragma once

#include <cerrno>
#include <expected>
#include <string>
#include <utility>

namespace pyattach {

// What went wrong, in terms a user can act on. The CLI maps each code to a
// distinct exit status (cli/exit_codes.h).
enum class ErrorCode {
  kInternal,            // a bug or an unexpected library failure
  kNoSuchProcess,       // the pid does not exist (or exited while we attached)
  kPermissionDenied,    // ptrace or /proc refused us
  kAlreadyTraced,       // another tracer (gdb, strace) holds the process
  kNotPython,           // no CPython interpreter found in the process
  kUnsupportedVersion,  // CPython found, but a version we do not model
  kBadRemoteAddress,    // a read from the target failed (garbage pointer)
  kCorruptData,         // target memory read fine but makes no sense
  kDebugInfo,           // DWARF/ELF missing or unreadable
  kInterrupted,         // SIGINT/SIGTERM/... arrived while attached
  kUsage,               // bad command line or command arguments
};

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;  // one line: what failed
  int sys_errno = 0;    // errno of the failing call, 0 if none
  std::string hint;     // one line: how to fix it, may be empty

  static Error make(ErrorCode code, std::string message, int sys_errno = 0,
                    std::string hint = {}) {
    return Error{code, std::move(message), sys_errno, std::move(hint)};
  }
};

template <class T>
using Result = std::expected<T, Error>;

inline std::unexpected<Error> fail(ErrorCode code, std::string message,
                                   int sys_errno = 0, std::string hint = {}) {
  return std::unexpected(Error::make(code, std::move(message), sys_errno,
                                     std::move(hint)));
}

}  // namespace pyattach

// Propagates the error of a Result-returning expression, else yields its value.
// (A GCC statement expression: we build only with GCC and Clang.)
#define PYATTACH_TRY(expr)                                  \
  ({                                                        \
    auto&& pyattach_try_result_ = (expr);                   \
    if (!pyattach_try_result_)                              \
      return std::unexpected(pyattach_try_result_.error()); \
    std::move(*pyattach_try_result_);                       \
  })
