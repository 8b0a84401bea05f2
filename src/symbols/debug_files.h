// Finding an ELF file's separate debug file, as gdb does: by GNU build ID
// under <debug dir>/.build-id/, then by .gnu_debuglink next to the file,
// in its .debug/ directory, and under <debug dir>/<its directory>/.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "symbols/elf_file.h"

namespace pyattach::symbols {

// Where separate debug files live. Default: {"/usr/lib/debug"}; the
// PYATTACH_DEBUG_DIRS environment variable (colon-separated) replaces it, and
// set_debug_directories (--debug-dir) replaces both. An empty list (an empty
// PYATTACH_DEBUG_DIRS, `--debug-dir ''`) turns separate debug files off, as
// set_debug_files_enabled(false) (--no-debug-files) does.
std::vector<std::string> debug_directories();
void set_debug_directories(std::vector<std::string> dirs);
// Off: find_debug_file finds nothing, not even a .gnu_debuglink file next to
// the binary. On by default.
void set_debug_files_enabled(bool enabled);
bool debug_files_enabled();

// The host path of the debug file of `elf`, which the target maps as
// `target_path`; each candidate is tried through `open_path` (the target's
// mount namespace) first, then as a host path. A candidate must carry the
// same build ID as `elf` when both have one. nullopt when none is found or
// debug files are off.
std::optional<std::string> find_debug_file(
    const ElfFile& elf, const std::string& target_path,
    const std::function<std::string(const std::string&)>& open_path);

}  // namespace pyattach::symbols
