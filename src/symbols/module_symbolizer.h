// Symbolizer over the ELF files mapped into a process.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/proc_maps.h"
#include "core/symbolizer.h"
#include "symbols/elf_file.h"

namespace pyattach::symbols {

// One mapped ELF module: its file and its load bias (runtime = link-time + bias).
struct LoadedModule {
  std::string path;        // as the target names it (/proc/PID/maps)
  std::uint64_t bias = 0;
  std::uint64_t start = 0, end = 0;  // span of all its mappings
  std::shared_ptr<const ElfFile> elf;  // nullptr when the file could not be read
  // The separate debug file (build ID or .gnu_debuglink), when installed: its
  // .symtab names what a stripped file's .dynsym does not (static functions).
  std::shared_ptr<const ElfFile> debug_elf;
  std::string debug_path;  // host path of debug_elf
};

// Built from /proc/PID/maps before the target is stopped. Files are opened
// through `open_path` (which maps a target path to a host path, for example
// through /proc/PID/root) and each file is loaded once.
//
// - A module is one loaded image: the file-backed mappings (inode != 0, path
//   starting with '/') of one path; a second mapping of the path at file
//   offset 0 starts another image. [heap], [stack], anonymous .bss and the
//   like belong to no module.
// - bias: 0 for ET_EXEC; for ET_DYN, from the first mapping (by file offset,
//   ---p leftovers last) that lies in a PT_LOAD:
//   start - file_offset - (p_vaddr - p_offset).
// - A path the kernel marks " (deleted)" is opened without the suffix (the
//   file now there may be a newer build; logged at info on "elf").
// - A file that cannot be opened or is not ELF leaves elf == nullptr:
//   module_of and module_at still work, symbolize and address_of skip it.
// - symbolize names the symbol covering addr, function or object, demangling
//   C++ names. address_of returns the first module's match, hinted ones first.
class ModuleSymbolizer final : public Symbolizer {
 public:
  using PathMapper = std::function<std::string(const std::string&)>;
  static ModuleSymbolizer build(const std::vector<MemoryMapping>& maps,
                                const PathMapper& open_path);

  std::optional<SymbolInfo> symbolize(RemoteAddr addr) const override;
  // Looks up every address at once, module by module (ElfFile::symbols_at),
  // so that symbolize(addr) for them needs no sorted table of all symbols.
  // Only an optimisation: symbolize answers the same without it.
  void prefetch(std::span<const RemoteAddr> addrs) const;
  // Every module's symbols read and sorted now (ElfFile::index_all_symbols):
  // for a snapshot built while the target is stopped, when no file may be
  // read. Costs ~15 ms for a typical process; lazy lookups avoid it.
  void index_all() const;
  std::string module_of(RemoteAddr addr) const override;
  std::optional<RemoteAddr> address_of(std::string_view name,
                                       std::string_view module_hint) const override;

  const std::vector<LoadedModule>& modules() const { return modules_; }
  const LoadedModule* module_at(RemoteAddr addr) const;

 private:
  std::vector<LoadedModule> modules_;  // sorted by start
  std::vector<std::uint64_t> max_end_;  // prefix maximum of modules_[i].end
};

}  // namespace pyattach::symbols
