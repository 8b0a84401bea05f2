#include "commands.h"

#include <sstream>

#include <fmt/format.h>

#include "render/escape.h"

namespace pyattach::cli {
namespace {

std::vector<std::string> split_words(std::string_view line) {
  std::vector<std::string> words;
  std::istringstream in{std::string(line)};
  for (std::string w; in >> w;) words.push_back(w);
  return words;
}

std::string join(const std::vector<std::string>& words, std::size_t from) {
  std::string out;
  for (std::size_t i = from; i < words.size(); ++i) {
    if (!out.empty()) out += ' ';
    out += words[i];
  }
  return out;
}

// Resolves a command name or unique alias.
const CommandInfo* find_command(const std::string& word) {
  for (const auto& c : command_table()) {
    if (c.name == word) return &c;
    for (const auto& a : c.aliases)
      if (a == word) return &c;
  }
  return nullptr;
}

bool run_on_thread(Session& session, const CommandInfo& command,
                   const cpython::ThreadSnapshot& thread, std::ostream& out) {
  if (command.name == "py-bt") {
    render::print_py_bt(out, thread, session.sources);
  } else if (command.name == "bt") {
    render::print_bt(out, thread, session.sources);
  }
  return true;
}

}  // namespace

const std::vector<CommandInfo>& command_table() {
  static const std::vector<CommandInfo> table = {
      {"py-bt", {}, "Python backtrace of the selected thread"},
      {"bt", {"backtrace", "where"}, "native backtrace with each eval frame's Python frames"},
      {"thread", {"t"}, "thread apply all CMD (t a a CMD): run CMD on every thread"},
  };
  return table;
}

bool run_command(Session& session, std::string_view line, std::ostream& out,
                 std::ostream& err) {
  auto words = split_words(line);
  if (words.empty()) return true;
  const CommandInfo* command = find_command(words[0]);
  if (!command) {
    err << fmt::format("Undefined command: \"{}\".  Try \"help\".\n",
                       render::escape_for_terminal(words[0]));
    return false;
  }
  const auto& threads = session.snapshot.threads;
  if (command->name == "thread") {
    bool apply = words.size() >= 3 && (words[1] == "apply" || words[1] == "a") &&
                 (words[2] == "all" || words[2] == "a");
    if (!apply) {
      err << "Usage: thread apply all COMMAND\n";
      return false;
    }
    std::string inner = join(words, 3);
    auto inner_words = split_words(inner);
    const CommandInfo* sub = inner_words.empty() ? nullptr : find_command(inner_words[0]);
    if (!sub || sub->name == "thread") {
      err << (inner_words.empty() ? std::string("Please specify a command at the end of "
                                                "'thread apply all'\n")
                                  : fmt::format("Undefined command: \"{}\".  Try \"help\".\n",
                                                render::escape_for_terminal(inner_words[0])));
      return false;
    }
    // gdb walks threads from the highest number down.
    for (std::size_t i = threads.size(); i-- > 0;) {
      out << "\n" << render::thread_header(threads[i], static_cast<int>(i + 1)) << "\n";
      run_on_thread(session, *sub, threads[i], out);
    }
    return true;
  }
  if (threads.empty()) {
    err << "No threads.\n";
    return false;
  }
  return run_on_thread(session, *command, threads[session.selected_thread], out);
}

}  // namespace pyattach::cli
