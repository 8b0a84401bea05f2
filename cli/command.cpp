#include "command.h"

#include <fmt/format.h>

#include "render/escape.h"

namespace pyattach::cli {
namespace {

std::vector<std::unique_ptr<Command>>& registry() {
  static std::vector<std::unique_ptr<Command>> commands;
  return commands;
}

}  // namespace

CommandRegistration::CommandRegistration(std::unique_ptr<Command> command) {
  registry().push_back(std::move(command));
}

const std::vector<std::unique_ptr<Command>>& all_commands() { return registry(); }

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' ||
                        s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

std::pair<std::string_view, std::string_view> split_first_word(std::string_view line) {
  line = trim(line);
  auto end = line.find_first_of(" \t");
  if (end == std::string_view::npos) return {line, {}};
  return {line.substr(0, end), trim(line.substr(end))};
}

bool command_error(Session& session, std::string_view message) {
  session.err << render::escape_for_terminal(message) << "\n";
  if (session.json_output) session.add_json_error(message);
  return false;
}

const Command* find_command(std::string_view word, std::string* error) {
  for (const auto& c : registry()) {
    if (c->name() == word) return c.get();
    for (auto alias : c->aliases())
      if (alias == word) return c.get();
  }
  std::vector<const Command*> matches;
  for (const auto& c : registry())
    if (!word.empty() && c->name().starts_with(word)) matches.push_back(c.get());
  if (matches.size() == 1) return matches.front();
  if (error) {
    std::string escaped = render::escape_for_terminal(word);
    if (matches.empty()) {
      *error = fmt::format("Undefined command: \"{}\".  Try \"help\".", escaped);
    } else {
      std::string names;
      for (const auto* m : matches) names += (names.empty() ? "" : ", ") + std::string(m->name());
      *error = fmt::format("Ambiguous command \"{}\": {}.", escaped, names);
    }
  }
  return nullptr;
}

bool execute(Session& session, std::string_view line) {
  auto [word, args] = split_first_word(line);
  if (word.empty() || word.starts_with('#')) return true;
  std::string error;
  const Command* command = find_command(word, &error);
  if (!command) return command_error(session, error);
  return command->run(session, args);
}

bool needs_memory(std::string_view line) {
  // "thread apply all CMD" and its abbreviations need what CMD needs.
  for (int depth = 0; depth < 4; ++depth) {
    auto [word, args] = split_first_word(line);
    const Command* command = find_command(word);
    if (!command) return false;
    if (command->needs_memory()) return true;
    if (command->name() != "thread") return false;
    auto [sub, rest] = split_first_word(args);
    if (sub != "apply" && sub != "a") return false;
    auto [which, inner] = split_first_word(rest);
    (void)which;
    line = inner;
  }
  return false;
}

std::optional<std::string> command_without_json(std::string_view line) {
  for (int depth = 0; depth < 4; ++depth) {
    auto [word, args] = split_first_word(line);
    if (word.empty()) return std::nullopt;
    const Command* command = find_command(word);
    if (!command) return std::nullopt;
    if (!command->supports_json()) return std::string(command->name());
    if (command->name() != "thread") return std::nullopt;
    auto [sub, rest] = split_first_word(args);
    if (sub != "apply" && sub != "a") return std::nullopt;  // thread N: selects
    // `all`, or a list of thread numbers, then the command.
    auto [which, inner] = split_first_word(rest);
    if (which == "all" || which == "a") {
      line = inner;
      continue;
    }
    line = rest;
    for (int n = 0; n < 10000; ++n) {
      auto [number, after] = split_first_word(line);
      if (number.empty() || number.find_first_not_of("0123456789") != std::string_view::npos)
        break;
      line = after;
    }
  }
  return std::nullopt;
}

}  // namespace pyattach::cli
