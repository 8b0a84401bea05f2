// Live attach tests: real processes, real ptrace. Also the entry point of the
// target and holder processes these tests spawn (`--target MODE ...`).
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>
#include <string_view>

#include "attach/stopped_process.h"
#include "core/log.h"
#include "support.h"

namespace {

// CTest's SKIP_RETURN_CODE for this binary.
constexpr int kSkip = 77;

// Skips the whole binary, with the fix, where ptrace is not allowed.
bool ptrace_allowed() {
  auto target = pyattach::live::spawn_native("heartbeat", 0);
  auto sp = pyattach::attach::StoppedProcess::stop(target.pid());
  if (sp) return true;
  if (sp.error().code != pyattach::ErrorCode::kPermissionDenied) return true;
  std::fprintf(stderr, "skipping live attach tests: %s\nhint: %s\n",
               sp.error().message.c_str(), sp.error().hint.c_str());
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && std::string_view(argv[1]) == "--target")
    return pyattach::live::target_main(argc - 2, argv + 2);
  pyattach::log::configure(0);  // PYATTACH_LOG=ptrace=trace,... for details
  if (!ptrace_allowed()) return kSkip;
  doctest::Context context;
  context.applyCommandLine(argc, argv);
  return context.run();
}
