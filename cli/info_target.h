// `info target`: what pyattach learned about the target before stopping it.
#pragma once

#include "session.h"

namespace pyattach::cli {

// Prints pid, interpreter module, version, _PyRuntime and how it was found,
// the offsets source and the debug file used. Always succeeds.
bool run_info_target(Session& session);

}  // namespace pyattach::cli
