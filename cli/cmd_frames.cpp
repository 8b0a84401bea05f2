// frame N, py-up, py-down, py-list, py-bt-full.
#include <charconv>
#include <regex>

#include <fmt/format.h>

#include "command.h"
#include "frame_summary.h"
#include "render/json_output.h"
#include "render/escape.h"

namespace pyattach::cli {
namespace {

class Frame final : public Command {
 public:
  std::string_view name() const override { return "frame"; }
  std::vector<std::string_view> aliases() const override { return {"f"}; }
  std::string_view summary() const override { return "frame N: select native frame #N"; }
  std::string_view usage() const override {
    return "frame [N]\n"
           "Selects frame #N of the selected thread (the numbers bt prints) and prints it.\n"
           "py-bt, py-list, py-print and py-locals then start from that frame.";
  }
  bool run(Session& session, std::string_view args) const override {
    const auto* thread = session.selected_thread();
    if (!thread) return command_error(session, "No thread selected.");
    if (!args.empty()) {
      std::size_t n = 0;
      auto [p, ec] = std::from_chars(args.data(), args.data() + args.size(), n);
      if (ec != std::errc() || p != args.data() + args.size())
        return command_error(session, fmt::format("Invalid frame number: {}", args));
      if (n >= thread->native.size())
        return command_error(session, "No frame at level " + std::string(args) + ".");
      session.selection().frame = n;
    }
    std::size_t index = session.selection().frame;
    if (index < thread->native.size())
      session.out << render::native_frame_line(thread->native[index], index) << "\n";
    return true;
  }
};

class PyMove final : public Command {
 public:
  explicit PyMove(bool older) : older_(older) {}
  std::string_view name() const override { return older_ ? "py-up" : "py-down"; }
  std::string_view summary() const override {
    return older_ ? "select and print the Python frames of the caller's eval frame"
                  : "select and print the Python frames of the callee's eval frame";
  }
  std::string_view usage() const override {
    return older_ ? "py-up\nSelects the next older C frame that runs Python code (or a C "
                    "function called\nfrom Python) and prints its Python frames as "
                    "python-gdb.py does. On 3.11+\none C frame runs several Python frames: "
                    "all of them are printed."
                  : "py-down\nSelects the next newer C frame that runs Python code (or a C "
                    "function called\nfrom Python) and prints its Python frames as "
                    "python-gdb.py does.";
  }
  bool needs_memory() const override { return true; }
  bool run(Session& session, std::string_view args) const override {
    if (!args.empty()) return command_error(session, fmt::format("{} takes no arguments.", name()));
    const auto* thread = session.selected_thread();
    if (!thread) return command_error(session, "No thread selected.");
    auto current = render::python_frame_at_or_after(*thread, session.selection().frame);
    if (!current) {
      session.out << "Unable to locate python frame\n";
      return true;
    }
    auto next = render::next_python_frame(*thread, *current, older_);
    if (!next) {
      session.out << (older_ ? "Unable to find an older python frame\n"
                             : "Unable to find a newer python frame\n");
      return true;
    }
    session.selection().frame = *next;
    print_frame_summary(session, *thread, *next);
    return true;
  }

 private:
  bool older_;
};

class PyBtFull final : public Command {
 public:
  std::string_view name() const override { return "py-bt-full"; }
  std::string_view summary() const override {
    return "Python backtrace with frame addresses and locals, numbered like bt";
  }
  std::string_view usage() const override {
    return "py-bt-full\n"
           "Like py-bt, but each Python frame is printed as python-gdb.py's\n"
           "`#N Frame 0x..., for file F, line L, in NAME (locals)`, where #N is the\n"
           "number of the C frame that runs it (see bt).";
  }
  bool needs_memory() const override { return true; }
  bool supports_json() const override { return true; }
  bool run(Session& session, std::string_view args) const override {
    if (!args.empty()) return command_error(session, "py-bt-full takes no arguments.");
    const auto* thread = session.selected_thread();
    if (!thread) return command_error(session, "No thread selected.");
    auto index = render::python_frame_at_or_after(*thread, session.selection().frame);
    if (session.json_output) {
      nlohmann::json frames = nlohmann::json::array();
      for (; index; index = render::next_python_frame(*thread, *index, true)) {
        const auto& native = thread->native[*index];
        if (!native.is_eval) {
          frames.push_back({{"kind", "native_call"}, {"index", *index},
                            {"text", native.other_python_info}});
          continue;
        }
        for (std::size_t py : native.python_frames) {
          auto frame = render::python_frame_json(thread->python[py], session.sources());
          frame["index"] = *index;
          frame["locals"] = locals_json(session, thread->python[py]);
          frames.push_back(std::move(frame));
        }
      }
      session.add_json_result("frames", std::move(frames));
      return true;
    }
    if (!index) {
      session.out << "Unable to locate python frame\n";
      return true;
    }
    for (; index; index = render::next_python_frame(*thread, *index, true)) {
      if (Session::interrupted) break;
      print_frame_summary(session, *thread, *index);
    }
    return true;
  }
};

class PyList final : public Command {
 public:
  std::string_view name() const override { return "py-list"; }
  std::string_view summary() const override {
    return "list the Python source around the current line";
  }
  std::string_view usage() const override {
    return "py-list\npy-list START\npy-list START, END\n"
           "Lists the source of the innermost Python frame run by the selected (or next\n"
           "older) eval frame: 5 lines either side of the current line, which is marked\n"
           "with >; or 10 lines from START; or lines START to END.";
  }
  bool run(Session& session, std::string_view args) const override {
    std::optional<int> start, end;
    std::string text(args);
    std::smatch m;
    static const std::regex kOne(R"(^\s*(\d+)\s*)"), kTwo(R"(^\s*(\d+)\s*,\s*(\d+)\s*)");
    if (std::regex_search(text, m, kOne)) {
      start = std::stoi(m[1].str().substr(0, 9));
      end = *start + 10;
    }
    if (std::regex_search(text, m, kTwo)) {
      start = std::stoi(m[1].str().substr(0, 9));
      end = std::stoi(m[2].str().substr(0, 9));
    }
    const auto* thread = session.selected_thread();
    if (!thread) return command_error(session, "No thread selected.");
    const cpython::PyFrameSnapshot* frame = nullptr;
    for (std::size_t i = session.selection().frame; i < thread->native.size(); ++i)
      if (thread->native[i].is_eval) {
        if (!thread->native[i].python_frames.empty())
          frame = &thread->python[thread->native[i].python_frames.front()];
        break;
      }
    if (!frame) {
      session.out << "Unable to locate gdb frame for python bytecode interpreter\n";
      return true;
    }
    if (!frame->readable) {
      session.out << "Unable to read information on python frame\n";
      return true;
    }
    if (!frame->line) {
      session.out << "Unable to read python frame line number\n";
      return true;
    }
    int lineno = *frame->line;
    if (!start) {
      start = lineno - 5;
      end = lineno + 5;
    }
    if (*start < 1) start = 1;
    auto sources = session.sources();
    if (!sources(frame->filename, 1) && !sources(frame->filename, *start)) {
      session.out << fmt::format("Unable to open {}\n",
                                 render::escape_for_terminal(frame->filename));
      return true;
    }
    for (int line = *start; line <= *end; ++line) {
      auto text_line = sources(frame->filename, line);
      if (!text_line) break;
      std::string number = (line == lineno ? ">" : "") + std::to_string(line);
      session.out << fmt::format("{:>4}    {}\n", number, render::escape_for_terminal(*text_line));
    }
    return true;
  }
};

CommandRegistration frame(std::make_unique<Frame>());
CommandRegistration py_up(std::make_unique<PyMove>(true));
CommandRegistration py_down(std::make_unique<PyMove>(false));
CommandRegistration py_bt_full(std::make_unique<PyBtFull>());
CommandRegistration py_list(std::make_unique<PyList>());

}  // namespace
}  // namespace pyattach::cli
