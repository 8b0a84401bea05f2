#include "symbols/debug_files.h"

#include <unistd.h>

#include <cstdlib>
#include <mutex>

#include "core/log.h"

namespace pyattach::symbols {
namespace {

std::mutex g_mutex;
std::optional<std::vector<std::string>> g_dirs;
bool g_enabled = true;

std::vector<std::string> split_colons(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    auto end = text.find(':', start);
    if (end == std::string::npos) end = text.size();
    if (end > start) out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::string directory_of(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? std::string(".") : path.substr(0, slash);
}

}  // namespace

std::vector<std::string> debug_directories() {
  std::lock_guard lock(g_mutex);
  if (g_dirs) return *g_dirs;
  if (const char* env = std::getenv("PYATTACH_DEBUG_DIRS")) return split_colons(env);
  return {"/usr/lib/debug"};
}

void set_debug_directories(std::vector<std::string> dirs) {
  std::lock_guard lock(g_mutex);
  g_dirs = std::move(dirs);
}

void set_debug_files_enabled(bool enabled) {
  std::lock_guard lock(g_mutex);
  g_enabled = enabled;
}

bool debug_files_enabled() {
  {
    std::lock_guard lock(g_mutex);
    if (!g_enabled) return false;
  }
  return !debug_directories().empty();
}

std::optional<std::string> find_debug_file(
    const ElfFile& elf, const std::string& target_path,
    const std::function<std::string(const std::string&)>& open_path) {
  if (!debug_files_enabled()) return std::nullopt;
  std::vector<std::string> candidates;
  const std::string& build_id = elf.build_id();
  const auto dirs = debug_directories();
  if (build_id.size() > 2)
    for (const auto& dir : dirs)
      candidates.push_back(dir + "/.build-id/" + build_id.substr(0, 2) + "/" +
                           build_id.substr(2) + ".debug");
  const std::string& link = elf.debuglink();
  if (!link.empty() && link.find('/') == std::string::npos) {
    std::string here = directory_of(target_path);
    candidates.push_back(here + "/" + link);
    candidates.push_back(here + "/.debug/" + link);
    for (const auto& dir : dirs) candidates.push_back(dir + here + "/" + link);
  }
  for (const auto& candidate : candidates) {
    for (const std::string& path : {open_path(candidate), candidate}) {
      if (path == target_path || ::access(path.c_str(), R_OK) != 0) continue;
      // Only its build ID is needed here: the caller loads the symbols it wants.
      auto opened = ElfFile::open(path, ElfOpenOptions{.load_symbols = false});
      if (!opened) continue;
      if (!build_id.empty() && !opened->build_id().empty() && opened->build_id() != build_id) {
        log::get("elf")->debug("{}: build ID differs from {}; not its debug file", path,
                               target_path);
        continue;
      }
      log::get("elf")->debug("{}: separate debug file {}", target_path, path);
      return path;
    }
  }
  return std::nullopt;
}

}  // namespace pyattach::symbols
