// Text from the target is untrusted: it must not drive the user's terminal.
#pragma once

#include <string>
#include <string_view>

namespace pyattach::render {

// Escapes C0 and C1 control characters, DEL and invalid UTF-8 so that what the
// target wrote cannot move the cursor, change colours or fake output lines.
// Valid UTF-8 is kept, except the bidirectional overrides and isolates
// (U+202A..U+202E, U+2066..U+2069 -> "\u202e"), which reorder the rest of the
// line. \n -> "\n", \t -> "\t", ESC -> "\x1b", a lone byte 0xff -> "\xff".
// Used for every file name, function name and value printed.
std::string escape_for_terminal(std::string_view text);

}  // namespace pyattach::render
