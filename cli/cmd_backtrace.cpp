// py-bt and bt.
#include "command.h"
#include "render/json_output.h"

namespace pyattach::cli {
namespace {

class PyBt final : public Command {
 public:
  std::string_view name() const override { return "py-bt"; }
  std::string_view summary() const override {
    return "Python backtrace of the selected thread, from the selected frame";
  }
  std::string_view usage() const override {
    return "py-bt\n"
           "Prints the Python frames of the selected thread, most recent call first, as\n"
           "python-gdb.py does: File lines, source lines, and lines for C functions called\n"
           "from Python (<built-in method ...>, Waiting for the GIL, Garbage-collecting).\n"
           "Starts at the selected frame (see frame, py-up, py-down).";
  }
  bool supports_json() const override { return true; }
  bool run(Session& session, std::string_view args) const override {
    if (!args.empty()) return command_error(session, "py-bt takes no arguments.");
    const auto* thread = session.selected_thread();
    if (!thread) return command_error(session, "No thread selected.");
    if (session.json_output) {
      session.add_json_result(
          "frames", render::py_bt_json(*thread, session.sources(), session.selection().frame));
      return true;
    }
    render::print_py_bt(session.out, *thread, session.sources(), session.selection().frame);
    return true;
  }
};

class Bt final : public Command {
 public:
  std::string_view name() const override { return "bt"; }
  std::vector<std::string_view> aliases() const override { return {"backtrace", "where"}; }
  std::string_view summary() const override {
    return "native backtrace; each eval frame is followed by the Python frames it runs";
  }
  std::string_view usage() const override {
    return "bt\n"
           "Prints the native frames of the selected thread, #0 innermost, as\n"
           "`#N  0xIP in SYMBOL () from LIB`. After each _PyEval_EvalFrameDefault frame\n"
           "come the Python frames that C call runs. On 3.11+ they are placed by address\n"
           "(each eval call leaves its _PyCFrame or entry frame on its own C stack); on\n"
           "3.8-3.10 by order, which the output says. Frame numbers count physical\n"
           "frames: gdb also counts inlined functions, so its numbers can be larger.";
  }
  bool supports_json() const override { return true; }
  bool run(Session& session, std::string_view args) const override {
    if (!args.empty()) return command_error(session, "bt takes no arguments.");
    const auto* thread = session.selected_thread();
    if (!thread) return command_error(session, "No thread selected.");
    if (session.json_output) {
      session.add_json_result("frames", render::bt_json(*thread, session.sources()));
      return true;
    }
    render::print_bt(session.out, *thread, session.sources());
    return true;
  }
};

CommandRegistration py_bt(std::make_unique<PyBt>());
CommandRegistration bt(std::make_unique<Bt>());

}  // namespace
}  // namespace pyattach::cli
