// Which code points Python's str repr() keeps as they are.
#pragma once

namespace pyattach::render {

// str.isprintable() of the one-character string chr(cp) in CPython
// 3.`python_minor`: false for categories Cc, Cf, Cs, Co, Cn, Zl, Zp and Zs
// except the ASCII space. Minor versions before 8 answer as 3.8, after 13 as
// 3.13 (the table in unicode_printable.cpp is generated from 3.8-3.13).
bool is_printable(char32_t cp, int python_minor);

}  // namespace pyattach::render
