// Tab completion for the prompt: command names, then Python names for py-print.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "session.h"

namespace pyattach::cli {

// Candidates for the word `word` ending the typed `line_before_cursor`.
std::vector<std::string> complete(Session& session, std::string_view line_before_cursor,
                                  std::string_view word);

}  // namespace pyattach::cli
