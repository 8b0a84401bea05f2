// help, quit, detach, continue.
#include <fmt/format.h>

#include <algorithm>
#include <iostream>
#include <string>

#include "command.h"

namespace pyattach::cli {
namespace {

class Help final : public Command {
 public:
  std::string_view name() const override { return "help"; }
  std::vector<std::string_view> aliases() const override { return {"h"}; }
  std::string_view summary() const override { return "help [COMMAND]: list commands or explain one"; }
  std::string_view usage() const override { return "help [COMMAND]"; }
  std::vector<std::string> argument_candidates(Session&) const override {
    std::vector<std::string> names;
    for (const auto& c : all_commands()) names.emplace_back(c->name());
    return names;
  }
  bool run(Session& session, std::string_view args) const override {
    if (!args.empty()) {
      std::string error;
      const Command* c = find_command(args, &error);
      if (!c) return command_error(session, error);
      session.out << c->usage() << "\n";
      return true;
    }
    session.out << "pyattach commands (the names and output of CPython's python-gdb.py):\n\n";
    std::vector<const Command*> sorted;
    for (const auto& c : all_commands()) sorted.push_back(c.get());
    std::sort(sorted.begin(), sorted.end(),
              [](const Command* a, const Command* b) { return a->name() < b->name(); });
    for (const auto* c : sorted) {
      std::string names(c->name());
      for (auto a : c->aliases()) names += ", " + std::string(a);
      session.out << fmt::format("  {:<18} {}\n", names, c->summary());
    }
    session.out << "\nThe target stays stopped while this prompt is open, as under gdb.\n"
                   "`continue` lets it run until you press Enter (or Ctrl-C), then stops it\n"
                   "again with a fresh view; `detach` or `quit` (Ctrl-D) releases it.\n"
                   "Frame numbers count physical frames: gdb also counts inlined functions,\n"
                   "so its numbers can be larger for the same frame.\n";
    return true;
  }
};

class Quit final : public Command {
 public:
  std::string_view name() const override { return "quit"; }
  std::vector<std::string_view> aliases() const override { return {"q", "exit"}; }
  std::string_view summary() const override { return "detach (the target runs on) and exit"; }
  std::string_view usage() const override { return "quit\nDetaches, leaving the target running, and exits."; }
  bool run(Session& session, std::string_view) const override {
    session.release();
    session.quit_requested = true;
    return true;
  }
};

class Detach final : public Command {
 public:
  std::string_view name() const override { return "detach"; }
  std::string_view summary() const override {
    return "release the target (it runs on); the last view stays for reading";
  }
  std::string_view usage() const override {
    return "detach\nResumes every thread of the target and detaches from it. Commands then\n"
           "show the last view; `continue` attaches again.";
  }
  bool run(Session& session, std::string_view) const override {
    if (!session.is_stopped()) return command_error(session, "The program is not being run.");
    session.release();
    session.out << fmt::format("[Inferior 1 (process {}) detached]\n", session.target().pid());
    return true;
  }
};

class Continue final : public Command {
 public:
  std::string_view name() const override { return "continue"; }
  std::vector<std::string_view> aliases() const override { return {"c"}; }
  std::string_view summary() const override {
    return "let the target run until Enter or Ctrl-C, then stop it again";
  }
  std::string_view usage() const override {
    return "continue\nResumes the target. Press Enter (or Ctrl-C) to stop it again and take a\n"
           "fresh view of every thread.";
  }
  bool run(Session& session, std::string_view) const override {
    session.release();
    session.out << "Continuing. Press Enter or Ctrl-C to stop the target again.\n";
    session.out.flush();
    Session::interrupted = false;
    std::string ignored;
    // Enter returns from getline; Ctrl-C sets `interrupted` and makes the
    // read fail with EINTR (our handler is installed without SA_RESTART).
    std::getline(std::cin, ignored);
    std::cin.clear();
    Session::interrupted = false;
    if (auto r = session.stop(); !r) return command_error(session, r.error().message);
    session.out << "Stopped " << session.snapshot().threads.size() << " threads.\n";
    return true;
  }
};

CommandRegistration help(std::make_unique<Help>());
CommandRegistration quit(std::make_unique<Quit>());
CommandRegistration detach(std::make_unique<Detach>());
CommandRegistration cont(std::make_unique<Continue>());

}  // namespace
}  // namespace pyattach::cli
