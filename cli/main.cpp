// pyattach: attach to a live CPython process and show what it is doing.
#include <unistd.h>

#include <boost/program_options.hpp>
#include <fmt/format.h>

#include <iostream>
#include <string>
#include <vector>

#include "attach/stopped_process.h"
#include "command.h"
#include "shell.h"
#include <sstream>
#include "core/log.h"
#include "exit_codes.h"
#include "target.h"

namespace po = boost::program_options;
using namespace pyattach;

namespace {

constexpr const char* kUsage =
    "Usage: pyattach -p PID [--all-threads] [COMMAND [ARGS...]]\n"
    "       pyattach -p PID -ex CMD [-ex CMD ...]\n"
    "       pyattach -p PID < commands.txt\n"
    "\n"
    "Attaches to a running CPython 3.8-3.13 process, stops it for as short a time\n"
    "as possible, and prints what python-gdb.py would: py-bt, bt, ...\n"
    "The target only ever is read, and always runs on afterwards.\n"
    "\n"
    "Without a command and with a terminal, opens a prompt with gdb-like commands\n"
    "(py-bt, py-bt-full, py-list, py-up, py-down, py-print, py-locals, bt, frame,\n"
    "info threads, thread N, thread apply all CMD, p, help). The target stays\n"
    "stopped while the prompt is open, until quit, detach or continue.\n"
    "\n"
    "Options";

int report(const Error& error) {
  std::cerr << "pyattach: " << error.message << "\n";
  if (!error.hint.empty()) std::cerr << "pyattach: hint: " << error.hint << "\n";
  return cli::exit_code_for(error.code);
}

// gdb spells its options -ex, -p, -batch: accept -ex as --ex.
std::vector<std::string> normalise_args(int argc, char** argv) {
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-ex" || a == "-batch") a = "-" + a;
    args.push_back(std::move(a));
  }
  return args;
}

}  // namespace

namespace pyattach::cli {
// Boost.ProgramOptions parses --offsets-from through this (found by ADL).
void validate(boost::any& out, const std::vector<std::string>& values, OffsetsFrom*, int) {
  po::validators::check_first_occurrence(out);
  const std::string& text = po::validators::get_single_string(values);
  auto from = parse_offsets_from(text);
  if (!from) throw po::invalid_option_value(text);
  out = *from;
}
}  // namespace pyattach::cli

int main(int argc, char** argv) {
  po::options_description visible(kUsage);
  int verbosity = 0;
  visible.add_options()
      ("help,h", "print this help and exit")
      ("version", "print the version and exit")
      ("pid,p", po::value<pid_t>(), "the process to attach to")
      ("all-threads,a", "run the command on every thread (thread apply all)")
      ("ex", po::value<std::vector<std::string>>()->composing(),
       "run CMD (repeatable), then exit; like gdb -batch -ex")
      ("batch", "accepted for gdb compatibility (pyattach -ex always exits)")
      ("offsets-from", po::value<cli::OffsetsFrom>()->default_value(cli::OffsetsFrom::kAuto, "auto"),
       "where CPython's struct offsets come from: auto (DWARF if the interpreter or its "
       "debug file has it, else _Py_DebugOffsets on 3.13, else the built-in table), "
       "dwarf, debug-offsets or table")
      ("verbose,v", po::value<int>(&verbosity)->implicit_value(1)->zero_tokens()
                        ->default_value(0),
       "log what pyattach does to stderr (-v info, -vv debug)");
  po::options_description hidden;
  hidden.add_options()("command", po::value<std::vector<std::string>>(), "command words");
  po::options_description all;
  all.add(visible).add(hidden);
  po::positional_options_description positional;
  positional.add("command", -1);

  po::variables_map vm;
  try {
    auto args = normalise_args(argc, argv);
    auto parsed = po::command_line_parser(args).options(all).positional(positional).run();
    po::store(parsed, vm);
    po::notify(vm);
    // -vv counts twice.
    verbosity = 0;
    for (const auto& option : parsed.options)
      if (option.string_key == "verbose")
        verbosity += option.original_tokens.empty()
                         ? 1
                         : static_cast<int>(option.original_tokens.front().size()) - 1;
  } catch (const po::error& e) {
    std::cerr << "pyattach: " << e.what() << "\npyattach: hint: see pyattach --help\n";
    return cli::kExitUsage;
  }
  if (vm.count("help")) {
    std::cout << visible << "\n";
    return cli::kExitOk;
  }
  if (vm.count("version")) {
    std::cout << "pyattach " << PYATTACH_VERSION << "\n";
    return cli::kExitOk;
  }
  if (!vm.count("pid")) {
    std::cerr << "pyattach: no process given\npyattach: hint: pyattach -p PID py-bt "
                 "(see pyattach --help)\n";
    return cli::kExitUsage;
  }
  log::configure(verbosity);
  pid_t pid = vm["pid"].as<pid_t>();
  if (pid <= 0) {
    std::cerr << "pyattach: invalid process id " << pid << "\n";
    return cli::kExitUsage;
  }

  std::vector<std::string> commands;
  if (vm.count("ex")) commands = vm["ex"].as<std::vector<std::string>>();
  if (vm.count("command")) {
    std::string line;
    for (const auto& w : vm["command"].as<std::vector<std::string>>())
      line += (line.empty() ? "" : " ") + w;
    if (vm.count("all-threads")) line = "thread apply all " + line;
    commands.push_back(line);
  } else if (vm.count("all-threads") && commands.empty()) {
    commands.push_back("thread apply all py-bt");
  }
  const bool interactive = commands.empty() && isatty(STDIN_FILENO);
  if (commands.empty() && !interactive)
    for (std::string line; std::getline(std::cin, line);) commands.push_back(line);

  auto target = cli::PreparedTarget::prepare(pid, vm["offsets-from"].as<cli::OffsetsFrom>());
  if (!target) return report(target.error());

  if (interactive) {
    cli::Session session(**target, std::cout, std::cerr);
    session.interactive = true;
    if (auto r = session.stop(); !r) return report(r.error());
    std::cout << fmt::format("Attached to process {} ({} threads, CPython {}). The target is "
                             "stopped until you quit, detach or continue; `help` lists commands.\n",
                             pid, session.snapshot().threads.size(),
                             session.snapshot().version.to_string());
    return cli::run_shell(session);
  }

  // One-shot: commands that only render the snapshot run after the target is
  // released; commands that read values run while it is still stopped, into a
  // buffer, so the pause stays as short as the reading.
  bool read_while_stopped = false;
  for (const auto& command : commands) read_while_stopped |= cli::needs_memory(command);
  std::ostringstream out, err;
  cli::Session session(**target, out, err);
  if (auto r = session.stop(); !r) return report(r.error());
  if (!read_while_stopped) session.release();
  int status = cli::kExitOk;
  for (const auto& command : commands) {
    if (session.quit_requested) break;
    if (!cli::execute(session, command)) status = cli::kExitCommandFailed;
  }
  session.release();
  std::cout << out.str();
  std::cout.flush();
  std::cerr << err.str();
  return status;
}
