// /proc/PID/maps, parsed. Reading the file is attach's job; parsing is pure.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace pyattach {

struct MemoryMapping {
  std::uint64_t start = 0;   // first address
  std::uint64_t end = 0;     // one past the last address
  bool readable = false, writable = false, executable = false, shared = false;
  std::uint64_t file_offset = 0;
  std::uint64_t inode = 0;
  std::string path;          // as the kernel prints it: file, [stack], or empty

  bool contains(std::uint64_t addr) const { return addr >= start && addr < end; }
  bool is_file() const { return inode != 0 && !path.empty() && path[0] == '/'; }
};

// The mapping of `maps` (sorted by start, as the kernel lists them) that
// holds `addr`; null if none does.
const MemoryMapping* find_mapping(const std::vector<MemoryMapping>& maps, std::uint64_t addr);

// Parses the text of /proc/PID/maps. Fails with kCorruptData naming the first
// malformed line (1-based).
Result<std::vector<MemoryMapping>> parse_proc_maps(std::string_view text);

}  // namespace pyattach
