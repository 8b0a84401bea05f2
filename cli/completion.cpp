#include "completion.h"

#include <algorithm>

#include "command.h"

namespace pyattach::cli {

std::vector<std::string> complete(Session& session, std::string_view line,
                                  std::string_view word) {
  std::vector<std::string> out;
  auto [first, rest] = split_first_word(line);
  bool completing_command = line.find_first_of(" \t") == std::string_view::npos;
  if (completing_command) {
    for (const auto& c : all_commands()) {
      if (c->name().starts_with(word)) out.emplace_back(c->name());
      for (auto a : c->aliases())
        if (a.size() > 2 && a.starts_with(word)) out.emplace_back(a);
    }
  } else {
    if (const Command* command = find_command(first))
      for (const auto& name : command->argument_candidates(session))
        if (std::string_view(name).starts_with(word)) out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  (void)rest;
  return out;
}

}  // namespace pyattach::cli
