#include "shell.h"

#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include <editline/readline.h>

#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "command.h"
#include "completion.h"

namespace pyattach::cli {
namespace {

Session* g_session = nullptr;

extern "C" void on_sigint(int) { Session::interrupted = true; }

std::vector<std::string> g_matches;

char* completion_generator(const char* text, int state) {
  if (state == 0) {
    g_matches.clear();
    std::string line(rl_line_buffer ? rl_line_buffer : "");
    std::string prefix = line.substr(0, static_cast<std::size_t>(rl_point));
    if (g_session) g_matches = complete(*g_session, prefix, text);
  }
  if (static_cast<std::size_t>(state) >= g_matches.size()) return nullptr;
  return strdup(g_matches[static_cast<std::size_t>(state)].c_str());
}

char** attempted_completion(const char* text, int, int) {
  rl_attempted_completion_over = 1;  // never fall back to file names
  return rl_completion_matches(text, completion_generator);
}

}  // namespace

void install_interactive_sigint() {
  struct sigaction action {};
  action.sa_handler = on_sigint;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;  // no SA_RESTART: a blocking read returns with EINTR
  sigaction(SIGINT, &action, nullptr);
}

int run_shell(Session& session) {
  g_session = &session;
  rl_readline_name = const_cast<char*>("pyattach");
  rl_attempted_completion_function = attempted_completion;
  using_history();
  install_interactive_sigint();
  std::string last;
  while (!session.quit_requested) {
    Session::interrupted = false;
    char* raw = readline("(pyattach) ");
    if (!raw) {
      if (Session::interrupted) {  // Ctrl-C at the prompt: a fresh prompt
        std::cout << "Quit\n";
        continue;
      }
      std::cout << "quit\n";  // Ctrl-D, as gdb echoes it
      break;
    }
    std::string line(raw);
    std::free(raw);
    // An empty line repeats the previous command, as in gdb.
    if (trim(line).empty()) line = last;
    else add_history(line.c_str());
    last = line;
    execute(session, line);  // a failed command is reported; the session goes on
    std::cout.flush();
    if (Session::interrupted) std::cout << "Quit\n";
  }
  session.release();
  g_session = nullptr;
  return 0;  // as gdb: leaving the prompt is a success, whatever failed before
}

}  // namespace pyattach::cli
