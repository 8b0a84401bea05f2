// escape_for_terminal: what the target names must not reach the terminal raw.
#include <doctest/doctest.h>

#include <array>
#include <string_view>

#include "render/escape.h"

using pyattach::render::escape_for_terminal;

TEST_CASE("escape_for_terminal escapes what a terminal would act on, keeps the rest") {
  struct Row {
    std::string_view in;
    std::string_view out;
  };
  using namespace std::string_view_literals;
  constexpr std::array rows = {
      Row{"plain name.py", "plain name.py"},
      Row{"a\nb\rc\td", "a\\nb\\rc\\td"},
      Row{"\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m"},
      Row{"title\x1b]0;pwned\x07", "title\\x1b]0;pwned\\x07"},
      Row{"nul\0bs\x08" "del\x7f"sv, "nul\\x00bs\\x08del\\x7f"},
      Row{"c1 csi \xc2\x9b" "2J, nel \xc2\x85", "c1 csi \\x9b2J, nel \\x85"},
      Row{"nbsp \xc2\xa0 kept", "nbsp \xc2\xa0 kept"},
      Row{"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\x8d", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\x8d"},
      Row{"rlo \xe2\x80\xae txt.exe", "rlo \\u202e txt.exe"},
      Row{"lre \xe2\x80\xaa pdf \xe2\x80\xac", "lre \\u202a pdf \\u202c"},
      Row{"isolates \xe2\x81\xa6 \xe2\x81\xa9", "isolates \\u2066 \\u2069"},
      Row{"zwsp \xe2\x80\x8b lsep \xe2\x80\xa8 kept", "zwsp \xe2\x80\x8b lsep \xe2\x80\xa8 kept"},
      Row{"lone \xff byte", "lone \\xff byte"},
      Row{"overlong \xc0\xaf", "overlong \\xc0\\xaf"},
      Row{"surrogate \xed\xa0\x80", "surrogate \\xed\\xa0\\x80"},
      Row{"cut \xe2\x80", "cut \\xe2\\x80"},
  };
  for (const Row& row : rows) {
    CAPTURE(row.in);
    CHECK(escape_for_terminal(row.in) == row.out);
  }
}

TEST_CASE("escape_for_terminal output holds no raw control byte for any single byte") {
  for (int b = 0; b < 256; ++b) {
    char c = static_cast<char>(b);
    std::string out = escape_for_terminal(std::string_view(&c, 1));
    CAPTURE(b);
    for (unsigned char o : out) CHECK((o >= 0x20 && o < 0x7f));
  }
}
