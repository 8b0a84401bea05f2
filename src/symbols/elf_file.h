// One ELF file on disk: its symbols, sections, segments and build ID.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace pyattach::symbols {

struct ElfSymbol {
  // Points into the string table its ElfFile keeps: valid while that lives.
  // (Tens of thousands of symbols per file: one allocation each cost more
  // than the rest of reading them.)
  std::string_view name;
  std::uint64_t value = 0;  // link-time virtual address
  std::uint64_t size = 0;
  bool is_function = false;
  bool dynamic = false;  // listed in .dynsym (possibly in .symtab as well)
};

struct ElfSection {
  std::string name;
  std::uint64_t addr = 0;    // link-time virtual address (sh_addr)
  std::uint64_t offset = 0;  // file offset
  std::uint64_t size = 0;
  std::uint32_t type = 0;    // sh_type (SHT_PROGBITS, SHT_NOBITS, ...)
  std::uint64_t flags = 0;   // sh_flags (SHF_COMPRESSED, ...)
};

struct ElfOpenOptions {
  // false skips .symtab/.dynsym (symbol_at and find_symbol then find
  // nothing), for callers that want only sections, notes and segments.
  bool load_symbols = true;
};

struct ElfLoadSegment {
  std::uint64_t vaddr = 0, memsz = 0, offset = 0, filesz = 0;
  bool executable = false;
};

// Reads the headers, sections, segments and notes on open, and keeps the file
// open (not mapped: a file truncated under us then fails a read instead of
// raising SIGBUS) for section reads. .symtab and .dynsym (both, merged,
// deduplicated by address and name) are read on the first symbol lookup, and
// sorted only if symbol_at is asked for an address that no symbols_at batch
// covered: most files a process maps are never looked into. Every offset and
// size in the file is bounds-checked. Fails with kDebugInfo if the file cannot
// be read, is not a 64-bit x86-64 ELF, or its header tables lie past its end;
// a malformed symbol table is skipped with a warning on the "elf" logger (at
// the first lookup). The lookups are const but fill caches: not for use from
// several threads at once.
class ElfFile {
 public:
  static Result<ElfFile> open(const std::string& path);
  static Result<ElfFile> open(const std::string& path, const ElfOpenOptions& options);
  ElfFile(ElfFile&&) noexcept;
  ElfFile& operator=(ElfFile&&) noexcept;
  ~ElfFile();

  const std::string& path() const;
  bool is_pie_or_shared() const;  // ET_DYN
  bool is_relocatable() const;    // ET_REL (an object file: DWARF needs relocating)
  std::uint64_t file_size() const;  // in bytes, when opened
  // GNU build ID as lowercase hex; empty if none.
  const std::string& build_id() const;
  // .gnu_debuglink file name; empty if none.
  const std::string& debuglink() const;
  bool has_dwarf() const;  // a .debug_info section is present

  const std::vector<ElfLoadSegment>& load_segments() const;
  // Link-time address of .eh_frame_hdr (PT_GNU_EH_FRAME), the binary-search
  // table of the unwind info; nullopt without that program header.
  std::optional<std::uint64_t> eh_frame_hdr() const;
  // The first section with this name.
  std::optional<ElfSection> section(std::string_view name) const;
  // Every section header, in file order (index 0 is the null section).
  const std::vector<ElfSection>& sections() const;
  // Raw bytes of a section (empty for NOBITS).
  Result<std::vector<std::byte>> section_data(std::string_view name) const;
  // `size` bytes of the file at `file_offset`; fails with kDebugInfo past
  // its end. For reading a large section piecewise.
  Result<std::vector<std::byte>> read_bytes(std::uint64_t file_offset,
                                            std::uint64_t size) const;

  // The function or object symbol covering a link-time address: the symbol
  // with the greatest value <= addr, and addr < value + size when size != 0.
  // Sized symbols are preferred to unsized ones; an unsized one (an assembly
  // label) covers addr only if no symbol lies between them and addr is in
  // its section. Among aliases, functions and globals win. nullptr if none.
  // Pointers stay valid as long as the ElfFile.
  const ElfSymbol* symbol_at(std::uint64_t vaddr) const;
  // symbol_at for many addresses at once, answered from two passes over the
  // raw tables that keep only the symbols at the addresses' nearest values
  // instead of sorting every symbol; later symbol_at calls for the same
  // addresses reuse the answers. The same answers as symbol_at, except in
  // files that list one name at one address twice with different sizes.
  std::vector<const ElfSymbol*> symbols_at(std::span<const std::uint64_t> vaddrs) const;
  // Reads and sorts every symbol now, so that no later lookup reads the file
  // (for lookups made while the target is stopped).
  void index_all_symbols() const;
  // The symbol with exactly this name (dynsym or symtab); with several (file-
  // local statics), a sized global function wins. nullptr if none. Found by
  // a scan of the raw tables, remembered per name (the pointer is not the
  // one symbol_at returns for the same symbol).
  const ElfSymbol* find_symbol(std::string_view name) const;
  // find_symbol for several names, in one pass over the tables.
  std::vector<const ElfSymbol*> find_symbols(std::span<const std::string_view> names) const;

 private:
  struct Impl;
  explicit ElfFile(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace pyattach::symbols
