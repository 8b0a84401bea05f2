// The command table: every command is one Command object, registered from its
// own file, used alike by one-shot use, -ex, stdin scripts and the prompt.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "session.h"

namespace pyattach::cli {

class Command {
 public:
  virtual ~Command() = default;
  virtual std::string_view name() const = 0;
  virtual std::vector<std::string_view> aliases() const { return {}; }
  virtual std::string_view summary() const = 0;  // one line, for `help`
  virtual std::string_view usage() const = 0;    // full help text, for `help CMD`
  // Reads target memory beyond the snapshot (values), so it must run while
  // the target is stopped.
  virtual bool needs_memory() const { return false; }
  // Has a --format json form (Session::json_output): adds results with
  // Session::add_json_result instead of printing text.
  virtual bool supports_json() const { return false; }
  // Words that may follow the command name, for tab completion.
  virtual std::vector<std::string> argument_candidates(Session&) const { return {}; }
  // Runs the command. Returns false after printing a one-line error.
  virtual bool run(Session& session, std::string_view args) const = 0;
};

// Registers a command at static-initialisation time (cli/ objects are linked
// directly into the executable, so registrations are never dropped).
struct CommandRegistration {
  explicit CommandRegistration(std::unique_ptr<Command> command);
};

const std::vector<std::unique_ptr<Command>>& all_commands();

// Resolves a word as gdb does: an exact name or alias, else a unique prefix.
// On failure `error` holds gdb's message.
const Command* find_command(std::string_view word, std::string* error = nullptr);

// Splits "NAME ARGS" and runs it. Empty lines do nothing.
bool execute(Session& session, std::string_view line);

// Does any of these command lines need target memory (see needs_memory)?
bool needs_memory(std::string_view line);
// For --format json: the name of the command in `line` (through `thread
// apply ...`) that has no JSON form, or nullopt if all have one. Unknown
// words count as supported: running them reports them.
std::optional<std::string> command_without_json(std::string_view line);

// Helpers shared by commands.
std::string_view trim(std::string_view s);
std::pair<std::string_view, std::string_view> split_first_word(std::string_view line);
// A gdb-style error line ("No symbol ...", "Invalid ...") to session.err.
bool command_error(Session& session, std::string_view message);

}  // namespace pyattach::cli
