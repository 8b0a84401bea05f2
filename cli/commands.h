// The command table shared by one-shot use, -ex and the prompt.
#pragma once

#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "cpython/snapshot.h"
#include "render/backtrace.h"

namespace pyattach::cli {

struct Session {
  const cpython::ProcessSnapshot& snapshot;
  render::SourceProvider sources;
  std::size_t selected_thread = 0;  // index into snapshot.threads
};

struct CommandInfo {
  std::string name;
  std::vector<std::string> aliases;
  std::string summary;
};
const std::vector<CommandInfo>& command_table();

// Runs one command line ("py-bt", "thread apply all bt", "t a a py-bt").
// Returns false, after printing a gdb-style one-line error to `err`, for an
// unknown command or bad arguments.
bool run_command(Session& session, std::string_view line, std::ostream& out,
                 std::ostream& err);

}  // namespace pyattach::cli
