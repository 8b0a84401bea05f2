// pyattach: attach to a live CPython process and show what it is doing.
#include <unistd.h>

#include <boost/program_options.hpp>
#include <fmt/format.h>

#include <iostream>
#include <string>
#include <vector>

#include "attach/stopped_process.h"
#include "commands.h"
#include "core/log.h"
#include "exit_codes.h"
#include "source_files.h"
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
    "Commands: py-bt, bt, thread apply all CMD (t a a CMD).\n"
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
  if (commands.empty() && !isatty(STDIN_FILENO))
    for (std::string line; std::getline(std::cin, line);) commands.push_back(line);
  if (commands.empty()) commands.push_back("py-bt");

  auto target = cli::PreparedTarget::prepare(pid);
  if (!target) return report(target.error());

  Result<cpython::ProcessSnapshot> snapshot = [&]() -> Result<cpython::ProcessSnapshot> {
    auto stopped = attach::StoppedProcess::stop(pid);
    if (!stopped) return std::unexpected(stopped.error());
    auto captured = (*target)->capture(*stopped);
    stopped->detach();  // resume before any rendering
    return captured;
  }();
  if (!snapshot) return report(snapshot.error());

  cli::SourceFiles sources(pid);
  cli::Session session{*snapshot,
                       [&sources](const std::string& f, int l) { return sources.line(f, l); }};
  int status = cli::kExitOk;
  for (const auto& command : commands)
    if (!cli::run_command(session, command, std::cout, std::cerr))
      status = cli::kExitCommandFailed;
  std::cout.flush();
  return status;
}
