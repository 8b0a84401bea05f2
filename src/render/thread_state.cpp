#include "render/thread_state.h"

namespace pyattach::render {

using cpython::GilRelation;
using cpython::ThreadActivity;

std::string_view activity_key(ThreadActivity activity) {
  switch (activity) {
    case ThreadActivity::kHoldsGil: return "holds_gil";
    case ThreadActivity::kWaitingForGil: return "waiting_for_gil";
    case ThreadActivity::kDroppingGil: return "dropping_gil";
    case ThreadActivity::kBlockedOnLock: return "blocked_on_lock";
    case ThreadActivity::kSleeping: return "sleeping";
    case ThreadActivity::kInSyscall: return "in_syscall";
    case ThreadActivity::kRunningPython: return "running_python";
    case ThreadActivity::kRunningNative: return "running_native";
    case ThreadActivity::kIdle: return "idle";
    case ThreadActivity::kUnknown: break;
  }
  return "unknown";
}

std::string_view gil_key(GilRelation gil) {
  switch (gil) {
    case GilRelation::kHolds: return "holds";
    case GilRelation::kWaiting: return "waiting";
    case GilRelation::kDropping: return "dropping";
    case GilRelation::kNotHolding: return "not_holding";
    case GilRelation::kUnknown: break;
  }
  return "unknown";
}

std::string thread_state_text(const cpython::ThreadSnapshot& t) {
  const std::string in_call = t.syscall ? "in " + t.syscall->description : std::string();
  auto with_call = [&](std::string text) {
    return in_call.empty() ? text : text + ", " + in_call;
  };
  switch (t.activity) {
    case ThreadActivity::kHoldsGil: return "holds the GIL, blocked " + in_call;
    case ThreadActivity::kWaitingForGil: return "waiting for the GIL";
    case ThreadActivity::kDroppingGil: return "dropping the GIL";
    case ThreadActivity::kBlockedOnLock: return "blocked acquiring a lock";
    case ThreadActivity::kSleeping: return "in time.sleep";
    case ThreadActivity::kInSyscall: return in_call;
    case ThreadActivity::kRunningPython: return "running Python code, holds the GIL";
    case ThreadActivity::kRunningNative:
      return t.gil == GilRelation::kHolds ? "running native code, holds the GIL"
                                          : "running native code";
    case ThreadActivity::kIdle: return with_call("not a Python thread");
    case ThreadActivity::kUnknown: break;
  }
  return with_call("state unknown");
}

}  // namespace pyattach::render
