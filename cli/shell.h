// The interactive prompt: libedit line editing, history, completion, Ctrl-C.
#pragma once

#include "session.h"

namespace pyattach::cli {

// Runs "(pyattach) " prompts until quit or Ctrl-D. The target stays stopped
// between commands. Returns the exit status: 0, as gdb's.
int run_shell(Session& session);

// While the prompt runs, SIGINT only sets Session::interrupted (cancelling the
// running command) instead of detaching and exiting. Installed after each stop.
void install_interactive_sigint();

}  // namespace pyattach::cli
