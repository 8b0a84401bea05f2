// pyattach: attach to a live CPython process and show what it is doing.
#include <unistd.h>

#include <boost/program_options.hpp>
#include <fmt/format.h>

#include <iostream>
#include <string>
#include <vector>

#include "attach/stopped_process.h"
#include "run_stats.h"
#include "command.h"
#include "shell.h"
#include <sstream>
#include "core/log.h"
#include "exit_codes.h"
#include "symbols/debug_files.h"
#include "render/json_output.h"
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
      ("format", po::value<std::string>()->default_value("text"),
       "text, or json: one JSON document for the whole run (schema "
       "docs/pyattach-output.schema.json) from bt, py-bt, py-bt-full, py-locals, "
       "info threads and thread apply of those")
      ("thread-state", "end each `thread apply` header with the thread's state in brackets "
       "([holds the GIL, blocked in ...], [waiting for the GIL], ...); `info threads` "
       "always shows it")
      ("offsets-from", po::value<cli::OffsetsFrom>()->default_value(cli::OffsetsFrom::kAuto, "auto"),
       "where CPython's struct offsets come from: auto (DWARF if the interpreter or its "
       "debug file has it, else _Py_DebugOffsets on 3.13, else the built-in table), "
       "dwarf, debug-offsets or table")
      ("nonblocking", "read the Python stacks without stopping the target at all (as py-spy "
                      "does): each thread is read twice and compared, up to 5 times, and a "
                      "thread that kept changing is reported; py-bt only (bt needs registers, "
                      "which only a stopped thread gives)")
      ("stats", "print to stderr how long the target was stopped, what was read and where "
                "the time went")
      ("no-offsets-cache", "neither read nor write the offsets cache (also: PYATTACH_NO_CACHE=1; "
                           "the cache is $XDG_CACHE_HOME/pyattach, else ~/.cache/pyattach)")
      ("debug-dir", po::value<std::vector<std::string>>()->composing(),
       "look for separate debug files (<DIR>/.build-id/xx/yyyy.debug, .gnu_debuglink) "
       "under DIR instead of /usr/lib/debug (repeatable; searched in the target's mount "
       "namespace, then on the host); --debug-dir '' is --no-debug-files")
      ("no-debug-files", "ignore separate debug files: no DWARF or symbols from them "
       "(offsets then come from _Py_DebugOffsets or the built-in table)")
      ("verbose,v", po::value<int>(&verbosity)->implicit_value(1)->zero_tokens()
                        ->default_value(0),
       "log what pyattach does to stderr (-v info, -vv debug)");
  po::options_description hidden;
  hidden.add_options()("command", po::value<std::vector<std::string>>(), "command words")
      // For scripts/bench: seize, interrupt and detach every thread, read
      // nothing: the floor under any pause.
      ("stop-only", "stop every thread and release it at once");
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
  if (vm.count("debug-dir")) {
    std::vector<std::string> dirs;
    for (const auto& dir : vm["debug-dir"].as<std::vector<std::string>>())
      if (!dir.empty()) dirs.push_back(dir);
    symbols::set_debug_directories(std::move(dirs));  // none given: debug files off
  }
  if (vm.count("no-debug-files")) symbols::set_debug_files_enabled(false);
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
  const std::string format = vm["format"].as<std::string>();
  if (format != "text" && format != "json") {
    std::cerr << "pyattach: invalid --format '" << format
              << "'\npyattach: hint: --format text or --format json\n";
    return cli::kExitUsage;
  }
  const bool json = format == "json";
  const bool interactive = commands.empty() && isatty(STDIN_FILENO);
  if (json && interactive) {
    std::cerr << "pyattach: --format json needs a command (one-shot use)\npyattach: hint: "
                 "pyattach -p PID --format json --all-threads py-bt\n";
    return cli::kExitUsage;
  }
  if (commands.empty() && !interactive)
    for (std::string line; std::getline(std::cin, line);) commands.push_back(line);
  if (json)
    for (const auto& command : commands)
      if (auto name = cli::command_without_json(command)) {
        std::cerr << "pyattach: `" << *name << "` has no JSON output\npyattach: hint: "
                  << "--format json works with bt, py-bt, py-bt-full, py-locals, info threads "
                     "and thread apply of those\n";
        return cli::kExitUsage;
      }

  const auto program_start = cli::Clock::now();
  const bool want_stats = vm.count("stats") != 0;
  if (vm.count("stop-only")) {
    cli::RunStats stats;
    stats.start = program_start;
    auto start = cli::Clock::now();
    auto stopped = attach::StoppedProcess::stop(pid);
    if (!stopped) return report(stopped.error());
    const auto seized = cli::Clock::now();
    stats.seize_ms = cli::ms_between(start, seized);
    stats.registers_ms = stopped->registers_ms();
    stats.threads = stopped->threads().size();
    stopped->detach();
    const auto released = cli::Clock::now();
    stats.detach_ms = cli::ms_between(seized, released);
    stats.pause_ms = cli::ms_between(start, released);
    stats.stops = 1;
    if (want_stats) stats.print(std::cerr);
    return cli::kExitOk;
  }

  auto target = cli::PreparedTarget::prepare(pid, vm["offsets-from"].as<cli::OffsetsFrom>(),
                                             vm.count("no-offsets-cache") == 0);
  if (!target) return report(target.error());
  auto fill_prepare_stats = [&](cli::RunStats& stats) {
    stats.start = program_start;
    stats.prepare_ms = cli::ms_between(program_start, cli::Clock::now());
    stats.symbols_ms = (*target)->prepare_times().symbols_ms;
    stats.offsets_ms = (*target)->prepare_times().offsets_ms;
    stats.offsets_cached = (*target)->prepare_times().offsets_cached;
  };

  if (interactive) {
    cli::Session session(**target, std::cout, std::cerr);
    fill_prepare_stats(session.stats);
    session.interactive = true;
    session.show_thread_state = vm.count("thread-state") > 0;
    if (auto r = session.stop(); !r) return report(r.error());
    std::cout << fmt::format("Attached to process {} ({} threads, CPython {}). The target is "
                             "stopped until you quit, detach or continue; `help` lists commands.\n",
                             pid, session.snapshot().threads.size(),
                             session.snapshot().version.to_string());
    int status = cli::run_shell(session);
    if (want_stats) {
      session.collect_memory_stats();
      session.stats.print(std::cerr);
    }
    return status;
  }

  if (vm.count("nonblocking")) {
    if (interactive) {
      std::cerr << "pyattach: --nonblocking needs a command\npyattach: hint: pyattach -p PID "
                   "--nonblocking --all-threads py-bt\n";
      return cli::kExitUsage;
    }
    for (const auto& command : commands) {
      std::string_view c = command;
      if (c.starts_with("thread apply all ")) c.remove_prefix(17);
      if (c != "py-bt") {
        std::cerr << "pyattach: --nonblocking supports py-bt only, not '" << command
                  << "': bt needs the registers of stopped threads and value commands "
                     "need a consistent heap\npyattach: hint: run it without --nonblocking\n";
        return cli::kExitUsage;
      }
    }
    std::ostringstream out, err;
    cli::Session session(**target, out, err);
    fill_prepare_stats(session.stats);
    const auto read_start = cli::Clock::now();
    auto read = (*target)->read_nonblocking(5);
    if (!read) return report(read.error());
    session.stats.snapshot_ms = cli::ms_between(read_start, cli::Clock::now());
    const auto render_start = cli::Clock::now();
    session.adopt_snapshot(std::move(read->snapshot));
    session.json_output = json;
    int status = cli::kExitOk;
    for (const auto& command : commands) {
      session.current_command = command;
      if (!cli::execute(session, command)) status = cli::kExitCommandFailed;
    }
    session.stats.render_ms = cli::ms_between(render_start, cli::Clock::now());
    if (json) out << render::dump_json(session.json_document());
    std::cout << out.str();
    std::cout.flush();
    std::cerr << err.str();
    if (!read->inconsistent_tids.empty()) {
      std::string tids;
      for (pid_t t : read->inconsistent_tids) tids += (tids.empty() ? "" : ", ") + std::to_string(t);
      std::cerr << fmt::format("pyattach: warning: inconsistent snapshot: thread(s) {} changed "
                               "while being read in each of {} attempts; their stacks may mix "
                               "two moments\n",
                               tids, read->attempts);
    }
    if (want_stats) {
      std::cerr << fmt::format("pyattach: stats: nonblocking: no pause, {} attempt(s)\n",
                               read->attempts);
      session.collect_memory_stats();
      session.stats.print(std::cerr);
    }
    return status;
  }

  // One-shot: the target is released as soon as its registers and memory are
  // read; the snapshot is built and rendered afterwards. Commands that read
  // values run twice: once while the target is stopped, output thrown away,
  // so that everything they read lands in the page cache; then, after the
  // release, from that cache only, for the output.
  bool read_while_stopped = false, controls_target = false;
  // JSON names every thread after its threading.Thread: objects to read.
  read_while_stopped = json;
  for (const auto& command : commands) {
    read_while_stopped |= cli::needs_memory(command);
    const auto first = command.substr(0, command.find(' '));
    controls_target |= first == "detach" || first == "continue" || first == "c";
  }
  std::ostringstream out, err;
  std::ostream session_out(out.rdbuf()), session_err(err.rdbuf());
  cli::Session session(**target, session_out, session_err);
  fill_prepare_stats(session.stats);
  session.release_after_read = !read_while_stopped;
  session.show_thread_state = vm.count("thread-state") > 0;
  session.json_output = json;
  session.want_thread_names = json;
  if (auto r = session.stop(); !r) return report(r.error());
  auto run_commands = [&] {
    int status = cli::kExitOk;
    for (const auto& command : commands) {
      if (session.quit_requested) break;
      session.current_command = command;
      if (!cli::execute(session, command)) status = cli::kExitCommandFailed;
    }
    return status;
  };
  if (read_while_stopped && !controls_target) {
    const auto pass_start = cli::Clock::now();
    std::ostringstream discarded;
    session_out.rdbuf(discarded.rdbuf());
    session_err.rdbuf(discarded.rdbuf());
    const cli::Selection selection = session.selection();
    session.dry_run = true;
    run_commands();
    session.dry_run = false;
    session.selection() = selection;
    session.quit_requested = false;
    session.value_history = 0;
    session_out.rdbuf(out.rdbuf());
    session_err.rdbuf(err.rdbuf());
    session.stats.commands_while_stopped_ms = cli::ms_between(pass_start, cli::Clock::now());
    session.release(true);
  }
  const auto render_start = cli::Clock::now();
  int status = run_commands();
  session.release();
  session.stats.render_ms = cli::ms_between(render_start, cli::Clock::now());
  if (status == cli::kExitOk && session.deadlock_found) status = cli::kExitDeadlock;
  if (json) out << render::dump_json(session.json_document());
  std::cout << out.str();
  std::cout.flush();
  std::cerr << err.str();
  if (want_stats) {
    session.collect_memory_stats();
    session.stats.print(std::cerr);
  }
  return status;
}
