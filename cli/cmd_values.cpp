// py-print, py-locals, print (p).
#include <charconv>
#include <regex>

#include <fmt/format.h>

#include "command.h"
#include "render/escape.h"
#include "frame_summary.h"
#include "render/json_output.h"
#include "render/value_repr.h"

namespace pyattach::cli {
namespace {

constexpr std::string_view kUnableToRead = "Unable to read information on python frame";

render::ReprOptions repr_options(const Session& session) {
  render::ReprOptions options;
  options.python_minor = session.snapshot().version.minor;
  return options;
}

std::string repr(const Session& session, const cpython::PyValue& value) {
  return render::escape_for_terminal(render::value_repr(value, repr_options(session)));
}

// Python's repr() of a str, for "local 'x' = ...".
std::string quoted(const Session& session, std::string_view name) {
  return render::escape_for_terminal(
      render::str_repr(name, session.snapshot().version.minor));
}

// The Python frames py-print and py-locals read, and the reader to read them
// with; when either is missing, says why (and `ok` is what run() returns).
struct FramesToRead {
  const std::vector<std::size_t>* frames = nullptr;
  cpython::ValueReader* values = nullptr;
  bool ok = true;
};
FramesToRead python_frames_to_read(Session& session) {
  FramesToRead where;
  where.frames = session.selected_python_frames();
  if (!where.frames) {
    session.out << "Unable to locate python frame\n";
    return where;
  }
  where.values = session.values();
  if (!where.values)
    where.ok = command_error(session, "The target is not stopped: `continue` first.");
  return where;
}

class PyPrint final : public Command {
 public:
  std::string_view name() const override { return "py-print"; }
  std::string_view summary() const override {
    return "py-print NAME: print a Python variable (locals, then globals, then builtins)";
  }
  std::string_view usage() const override {
    return "py-print NAME\n"
           "Looks NAME up in the locals of the selected Python frame, then its globals,\n"
           "then the builtins, and prints it as python-gdb.py does:\n"
           "  local 'x' = [1, 2]   global 'CONFIG' = {...}   builtin 'len' = <built-in ...>\n"
           "Uses the Python frame of the selected C frame, or of the next older eval frame.";
  }
  bool needs_memory() const override { return true; }
  std::vector<std::string> argument_candidates(Session& session) const override {
    std::vector<std::string> names;
    const auto* frames = session.selected_python_frames();
    auto* values = session.values();
    if (!frames || !values) return names;
    const auto& frame = session.selected_thread()->python[frames->front()];
    if (auto locals = values->read_locals(frame.address))
      for (const auto& v : *locals) names.push_back(v.name);
    return names;
  }
  bool run(Session& session, std::string_view args) const override {
    std::string name(trim(args));
    if (name.empty()) return command_error(session, "Usage: py-print NAME");
    auto where = python_frames_to_read(session);
    if (!where.frames || !where.values) return where.ok;
    const auto* frames = where.frames;
    auto* values = where.values;
    const auto& frame = session.selected_thread()->python[frames->front()];
    auto found = values->lookup(frame.address, name);
    if (!found) {
      session.out << kUnableToRead << "\n";
      return true;
    }
    if (!*found) {
      session.out << quoted(session, name) << " not found\n";
      return true;
    }
    session.out << fmt::format("{} {} = {}\n", cpython::scope_name((*found)->scope),
                               quoted(session, name), repr(session, (*found)->value));
    return true;
  }
};

class PyLocals final : public Command {
 public:
  std::string_view name() const override { return "py-locals"; }
  std::string_view summary() const override { return "print the locals of the selected Python frame"; }
  std::string_view usage() const override {
    return "py-locals\n"
           "Prints `name = value` for each local of the selected Python frame. On 3.11+,\n"
           "where one C frame runs several Python frames, prints those of every Python\n"
           "frame it runs, each under `Locals for NAME`, as python-gdb.py does.";
  }
  bool needs_memory() const override { return true; }
  bool supports_json() const override { return true; }
  bool run(Session& session, std::string_view args) const override {
    if (!args.empty()) return command_error(session, "py-locals takes no arguments.");
    if (session.json_output) {
      // Every Python frame of the selected eval frame (<=3.10: one).
      nlohmann::json frames = nlohmann::json::array();
      if (const auto* indices = session.selected_python_frames()) {
        const auto& thread = *session.selected_thread();
        for (std::size_t index : *indices) {
          auto frame = render::python_frame_json(thread.python[index], session.sources());
          frame["locals"] = locals_json(session, thread.python[index]);
          frames.push_back(std::move(frame));
          if (!session.snapshot().version.at_least(3, 11)) break;
        }
      }
      session.add_json_result("frames", std::move(frames));
      return true;
    }
    auto where = python_frames_to_read(session);
    if (!where.frames || !where.values) return where.ok;
    const auto* frames = where.frames;
    auto* values = where.values;
    const auto& thread = *session.selected_thread();
    const bool per_frame_headers = session.snapshot().version.at_least(3, 11);
    for (std::size_t index : *frames) {
      if (Session::interrupted) break;
      const auto& frame = thread.python[index];
      auto locals = values->read_locals(frame.address);
      if (!locals) {
        session.out << kUnableToRead << "\n";
        break;
      }
      if (per_frame_headers)
        session.out << "Locals for " << render::escape_for_terminal(frame.name) << "\n";
      for (const auto& v : *locals)
        session.out << render::escape_for_terminal(render::raw_text(v.name)) << " = "
                    << repr(session, v.value) << "\n";
      if (!per_frame_headers) break;  // <=3.10: one Python frame per C frame
    }
    return true;
  }
};

class Print final : public Command {
 public:
  std::string_view name() const override { return "print"; }
  std::vector<std::string_view> aliases() const override { return {"p"}; }
  std::string_view summary() const override {
    return "p (PyObject*)0xADDR: pretty-print the object at an address";
  }
  std::string_view usage() const override {
    return "print (PyObject*)0xADDR\n"
           "Prints the Python object at ADDR as python-gdb.py's pretty-printer does, as\n"
           "gdb's `$N = ...`. ADDR may be hex or decimal; the cast may be left out.";
  }
  bool needs_memory() const override { return true; }
  bool run(Session& session, std::string_view args) const override {
    static const std::regex kExpr(
        R"(^\s*(?:\(\s*(?:struct\s+)?(?:PyObject|_object|PyFrameObject|PyUnicodeObject)\s*\*\s*\)\s*)?(0[xX][0-9a-fA-F]+|\d+)\s*$)");
    std::string text(args);
    std::smatch m;
    if (!std::regex_match(text, m, kExpr))
      return command_error(session,
                           "pyattach prints Python objects only: p (PyObject*)0xADDR");
    std::string number = m[1].str();
    std::uint64_t addr = 0;
    bool hex = number.size() > 2 && (number[1] == 'x' || number[1] == 'X');
    auto [p, ec] = std::from_chars(number.data() + (hex ? 2 : 0), number.data() + number.size(),
                                   addr, hex ? 16 : 10);
    if (ec != std::errc() || p != number.data() + number.size())
      return command_error(session, "Invalid number \"" + number + "\".");
    auto* values = session.values();
    if (!values) return command_error(session, "The target is not stopped: `continue` first.");
    cpython::PyValue value = values->read(RemoteAddr(addr));
    session.out << fmt::format("${} = {}\n", ++session.value_history, repr(session, value));
    return true;
  }
};

CommandRegistration py_print(std::make_unique<PyPrint>());
CommandRegistration py_locals(std::make_unique<PyLocals>());
CommandRegistration print(std::make_unique<Print>());

}  // namespace
}  // namespace pyattach::cli
