// One spdlog logger per topic; all of them write to stderr.
#pragma once

#include <spdlog/spdlog.h>

#include <memory>
#include <string_view>

namespace pyattach::log {

// Topics: attach, ptrace, mem, unwind, dwarf, elf, cpython, render, cli.
// Returns the logger for a topic, creating it on first use.
std::shared_ptr<spdlog::logger> get(std::string_view topic);

// Sets every topic's level from -v count (0: warn, 1: info, 2: debug,
// 3+: trace), then applies PYATTACH_LOG="topic=level,..." on top.
void configure(int verbosity);

}  // namespace pyattach::log
