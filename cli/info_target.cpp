#include "info_target.h"

#include <fmt/format.h>

#include "render/escape.h"

namespace pyattach::cli {

bool run_info_target(Session& session) {
  const PreparedTarget& target = session.target();
  const Interpreter& interp = target.interpreter();
  auto& out = session.out;
  using render::escape_for_terminal;
  out << fmt::format("Process {}\n", target.pid());
  out << fmt::format("Interpreter: {}\n", escape_for_terminal(interp.module_path));
  out << fmt::format("CPython version: {}\n", interp.version.to_string());
  out << fmt::format("_PyRuntime: {:#x} (found by {})\n", interp.runtime.as_int(),
                     cpython::describe(interp.runtime_found_by));
  std::string source(target.offsets_source());
  if (source == "dwarf" && target.dwarf_file().empty())
    source += " (read earlier from this build's DWARF, cached by build ID)";
  else if (source == "dwarf")
    source += " (DWARF of " + escape_for_terminal(target.dwarf_file()) + ")";
  else if (source == "debug-offsets")
    source += " (the target's _Py_DebugOffsets, completed by the built-in table)";
  else if (source == "table")
    source += " (built into pyattach)";
  out << fmt::format("Offsets from: {}\n", source);
  std::string debug_file = interp.debug_file;
  if (debug_file.empty() && target.dwarf_file() != interp.module_path)
    debug_file = target.dwarf_file();
  out << fmt::format("Debug file: {}\n",
                     debug_file.empty() ? std::string("none") : escape_for_terminal(debug_file));
  return true;
}

}  // namespace pyattach::cli
