// info threads, thread N, thread apply all|N... CMD.
#include <charconv>

#include <fmt/format.h>

#include "command.h"
#include "thread_names.h"
#include "info_target.h"
#include "render/escape.h"
#include "render/json_output.h"
#include "render/thread_state.h"
#include "render/value_repr.h"

namespace pyattach::cli {
namespace {

std::string target_id(const cpython::ThreadSnapshot& t) {
  return fmt::format("Thread {:#x} (LWP {}) \"{}\"", t.pthread_id, t.tid,
                     render::escape_for_terminal(t.comm));
}

// What gdb names a thread in [Switching to ...] and [Current thread is ...].
std::string short_target_id(const cpython::ThreadSnapshot& t) {
  return fmt::format("Thread {:#x} (LWP {})", t.pthread_id, t.tid);
}

std::optional<std::size_t> parse_thread_number(std::string_view word, std::size_t count) {
  std::size_t n = 0;
  auto [p, ec] = std::from_chars(word.data(), word.data() + word.size(), n);
  if (ec != std::errc() || p != word.data() + word.size() || n == 0 || n > count)
    return std::nullopt;
  return n - 1;
}

// Where the thread is, for `info threads`: its innermost Python frame if it
// has one, else its innermost native frame.
std::string where(const cpython::ThreadSnapshot& t) {
  std::string native = t.native.empty() ? std::string("(no frames)")
                                        : render::native_frame_line(t.native[0], 0).substr(4);
  for (const auto& n : t.native)
    for (std::size_t index : n.python_frames) {
      const auto& py = t.python[index];
      if (!py.readable) continue;
      return fmt::format("{} | {} ({}:{})", native, render::escape_for_terminal(py.name),
                         render::escape_for_terminal(py.filename),
                         py.line ? std::to_string(*py.line) : "?");
    }
  return native;
}

class Info final : public Command {
 public:
  std::string_view name() const override { return "info"; }
  std::vector<std::string_view> aliases() const override { return {"i"}; }
  std::string_view summary() const override {
    return "info threads: list the threads; info target: the interpreter found";
  }
  std::vector<std::string> argument_candidates(Session&) const override {
    return {"threads", "target"};
  }
  std::string_view usage() const override {
    return "info threads\n"
           "Lists every thread: gdb's number (* marks the selected one), its pthread id,\n"
           "LWP and name (/proc/PID/task/TID/comm), the name of its threading.Thread when\n"
           "it has one, its innermost native frame and, after |, its innermost Python\n"
           "function with file and line; then, in brackets, what the thread is doing:\n"
           "holds the GIL while blocked, waiting for / dropping the GIL, blocked acquiring\n"
           "a lock, in time.sleep, in a system call (fds named), running Python or native\n"
           "code, or not a Python thread.\n"
           "info target\n"
           "The process, the interpreter module, its CPython version, where _PyRuntime\n"
           "is and how it was found, where the struct offsets came from, and the\n"
           "separate debug file used, if any.";
  }
  bool needs_memory() const override { return true; }  // Thread names are objects
  bool supports_json() const override { return true; }
  bool run(Session& session, std::string_view args) const override {
    auto [sub, rest] = split_first_word(args);
    if (sub.size() >= 2 && std::string_view("target").starts_with(sub))
      return run_info_target(session);
    if (sub.empty() || !std::string_view("threads").starts_with(sub) || sub.size() < 2)
      return command_error(session, fmt::format("Undefined info command: \"{}\".  Try \"help "
                                                "info\".",
                                                args));
    (void)rest;
    session.read_python_thread_names();
    session.name_syscall_fds();
    const auto& threads = session.snapshot().threads;
    if (session.json_output) {
      nlohmann::json rows = nlohmann::json::array();
      for (std::size_t i = 0; i < threads.size(); ++i) {
        auto row = render::thread_json(threads[i], static_cast<int>(i + 1));
        row["selected"] = i == session.selection().thread;
        row["frame"] = render::escape_for_terminal(where(threads[i]));
        rows.push_back(std::move(row));
      }
      session.add_json_result("threads", std::move(rows));
      return true;
    }
    std::vector<std::string> ids;
    for (const auto& t : threads) {
      std::string id = target_id(t);
      if (!t.python_name.empty())
        id += fmt::format(" (Python \"{}\")", render::escape_for_terminal(t.python_name));
      ids.push_back(std::move(id));
    }
    std::size_t width = 9;
    for (const auto& id : ids) width = std::max(width, id.size());
    session.out << fmt::format("  {:<4} {:<{}} {}\n", "Id", "Target Id", width, "Frame ");
    for (std::size_t i = 0; i < threads.size(); ++i) {
      if (Session::interrupted) break;
      session.out << fmt::format(
          "{} {:<4} {:<{}} {} [{}]\n", i == session.selection().thread ? '*' : ' ', i + 1,
          ids[i], width, where(threads[i]),
          render::escape_for_terminal(render::thread_state_text(threads[i])));
    }
    return true;
  }
};

class Thread final : public Command {
 public:
  std::string_view name() const override { return "thread"; }
  std::vector<std::string_view> aliases() const override { return {"t"}; }
  std::string_view summary() const override {
    return "thread N: select a thread; thread apply all CMD (t a a CMD): run CMD on each";
  }
  std::string_view usage() const override {
    return "thread [N]\n"
           "thread apply all|N [M...] COMMAND\n"
           "`thread N` selects thread N (numbers from `info threads`); `thread` alone says\n"
           "which is selected. `thread apply all CMD` (short: `t a a CMD`) runs CMD on every\n"
           "thread, the highest number first, each under gdb's header line.";
  }
  bool needs_memory() const override { return false; }
  bool supports_json() const override { return true; }  // with --format json, silent
  bool run(Session& session, std::string_view args) const override {
    const auto& threads = session.snapshot().threads;
    auto [first, rest] = split_first_word(args);
    if (first.empty()) {
      const auto* t = session.selected_thread();
      if (!t) return command_error(session, "No thread selected.");
      if (session.json_output) return true;
      session.out << fmt::format("[Current thread is {} ({})]\n", session.selection().thread + 1,
                                 short_target_id(*t));
      return true;
    }
    if (first == "apply" || first == "a") return apply(session, rest);
    auto index = parse_thread_number(first, threads.size());
    if (!index) {
      bool is_number = !first.empty() && first.find_first_not_of("0123456789") == std::string_view::npos;
      return command_error(session, is_number ? fmt::format("Unknown thread {}.", first)
                                              : fmt::format("Invalid thread ID: {}", first));
    }
    session.selection() = {*index, 0};
    if (session.json_output) return true;
    const auto& t = threads[*index];
    session.out << fmt::format("[Switching to thread {} ({})]\n", *index + 1, short_target_id(t));
    if (!t.native.empty()) session.out << render::native_frame_line(t.native[0], 0) << "\n";
    return true;
  }

 private:
  static bool apply(Session& session, std::string_view args) {
    const auto& threads = session.snapshot().threads;
    std::vector<std::size_t> which;
    auto [word, rest] = split_first_word(args);
    std::string command_line;
    if (word == "all" || word == "a") {
      for (std::size_t i = threads.size(); i-- > 0;) which.push_back(i);
    } else {
      // A list of thread numbers, then the command.
      while (!word.empty()) {
        auto index = parse_thread_number(word, threads.size());
        if (!index) break;
        which.push_back(*index);
        std::tie(word, rest) = split_first_word(rest);
      }
      if (which.empty())
        return command_error(session, "Please specify a thread ID list");
      command_line = std::string(word) + " " + std::string(rest);
      rest = trim(command_line);
    }
    if (rest.empty())
      return command_error(session,
                           "Please specify a command at the end of 'thread apply all'");
    Selection saved = session.selection();
    bool ok = true;
    for (std::size_t index : which) {
      if (Session::interrupted) break;
      session.selection() = {index, 0};
      if (session.json_output) {
        ok = execute(session, rest) && ok;
        continue;
      }
      session.out << "\n" << render::thread_header(threads[index], static_cast<int>(index + 1));
      if (session.show_thread_state) {
        session.name_syscall_fds();
        session.out << " ["
                    << render::escape_for_terminal(render::thread_state_text(threads[index]))
                    << "]";
      }
      session.out << "\n";
      ok = execute(session, rest) && ok;
    }
    session.selection() = saved;
    return ok;
  }
};

CommandRegistration info(std::make_unique<Info>());
CommandRegistration thread(std::make_unique<Thread>());

}  // namespace
}  // namespace pyattach::cli
