#include "core/log.h"

#include <spdlog/cfg/helpers.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include <cstdlib>
#include <mutex>

namespace pyattach::log {
namespace {

spdlog::level::level_enum g_level = spdlog::level::warn;
std::mutex g_mutex;

}  // namespace

std::shared_ptr<spdlog::logger> get(std::string_view topic) {
  std::lock_guard lock(g_mutex);
  std::string name(topic);
  if (auto existing = spdlog::get(name)) return existing;
  auto logger = spdlog::stderr_color_mt(name);
  logger->set_level(g_level);
  logger->set_pattern("pyattach[%n] %l: %v");
  return logger;
}

void configure(int verbosity) {
  static constexpr spdlog::level::level_enum kLevels[] = {
      spdlog::level::warn, spdlog::level::info, spdlog::level::debug,
      spdlog::level::trace};
  g_level = kLevels[verbosity < 0 ? 0 : (verbosity > 3 ? 3 : verbosity)];
  for (const char* topic : {"attach", "ptrace", "mem", "unwind", "dwarf", "elf",
                            "cpython", "render", "cli"})
    get(topic)->set_level(g_level);
  if (const char* env = std::getenv("PYATTACH_LOG"))
    spdlog::cfg::helpers::load_levels(env);
}

}  // namespace pyattach::log
