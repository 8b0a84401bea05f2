// PyValue trees as text, as python-gdb.py's get_truncated_repr(1024) writes
// them (the `p (PyObject*)0x...`, py-print, py-locals and py-bt-full texts).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "cpython/values.h"

namespace pyattach::render {

struct ReprOptions {
  // python-gdb.py's MAX_OUTPUT_LEN, counted in characters (code points) as
  // Python counts them. A longer text is cut there and "...(truncated)" is
  // appended. 0: no limit (a value cut short by a read limit still ends in
  // "...(truncated)" at the point where its data ends).
  std::size_t max_len = 1024;
  // The target's CPython minor version: str repr() escapes what that
  // version's str.isprintable() rejects (its Unicode database).
  int python_minor = 13;
  // python-gdb.py prints classes, modules, functions, methods, code objects
  // and cells as <TYPE at remote 0x...>. With this set they name themselves:
  // <function f at remote 0x...>, <class 'C' at remote 0x...>,
  // <module 'os' at remote 0x...>, <bound method C.f of <C object at remote
  // 0x...>>, <code object f at remote 0x...>, <cell at remote 0x...: int
  // object at remote 0x...>.
  bool show_names = false;
};

// The text of a value. For a kFrame value this is python-gdb.py's frame line
// ("Frame 0x..., for file F, line N, in NAME (a=1)"), the text after "#N "
// of py-bt-full. The result may hold any code point but no control
// characters other than those a str name or file name itself holds; pass it
// through escape_for_terminal before printing.
std::string value_repr(const cpython::PyValue& value, const ReprOptions& options = {});

// Python's repr() of a str given as WTF-8 (values.h): quotes and escapes
// exactly as unicode_repr in Objects/unicodeobject.c. For py-print's
// "local 'NAME' = ..." (pass the user's name as is).
std::string str_repr(std::string_view wtf8, int python_minor = 13);
// Python's repr() of bytes: b'...'.
std::string bytes_repr(std::string_view bytes);
// Python's repr() of a float: the shortest text that reads back as the same
// double: 2.5, 0.1, 1e+100, -0.0, inf, nan.
std::string float_repr(double value);
// Python's repr() of a complex: 1j, (1+2j), (-0-0j), (nan+infj).
std::string complex_repr(double real, double imag);
// WTF-8 as UTF-8, with lone surrogates written as \udxxx. What python-gdb.py
// writes for a str it prints without quotes (names, file names).
std::string raw_text(std::string_view wtf8);

}  // namespace pyattach::render
