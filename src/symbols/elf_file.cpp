#include "symbols/elf_file.h"

#include <elf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <optional>
#include <span>
#include <unordered_map>

#include "core/log.h"

namespace pyattach::symbols {
namespace {

// Symbol tables beyond this are garbage, not a real binary (libpython's
// .symtab is ~250 KiB); the cap keeps a hostile header from making us
// allocate the whole file twice.
constexpr std::uint64_t kMaxTableBytes = 512ull << 20;
constexpr std::size_t kMaxNoteBytes = 1 << 20;

// Lower is better when several symbols share an address or a name.
std::uint8_t symbol_rank(const Elf64_Sym& s) {
  std::uint8_t rank = 0;
  if (s.st_size == 0) rank += 4;
  const unsigned type = ELF64_ST_TYPE(s.st_info);
  if (type != STT_FUNC && type != STT_GNU_IFUNC) rank += 2;
  if (ELF64_ST_BIND(s.st_info) != STB_GLOBAL) rank += 1;
  return rank;
}

std::string to_hex(std::span<const std::byte> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (std::byte b : bytes) {
    const auto v = std::to_integer<unsigned>(b);
    out += kDigits[v >> 4];
    out += kDigits[v & 0xf];
  }
  return out;
}

template <class T>
T load(std::span<const std::byte> bytes, std::size_t at) {
  T value;
  std::memcpy(&value, bytes.data() + at, sizeof(T));
  return value;
}

// A NUL-terminated string inside `table`, or empty if it runs off the end.
std::string_view string_at(std::span<const std::byte> table, std::uint64_t index) {
  if (index >= table.size()) return {};
  const char* begin = reinterpret_cast<const char*>(table.data()) + index;
  const std::size_t max = table.size() - index;
  const void* nul = std::memchr(begin, 0, max);
  if (nul == nullptr) return {};
  return {begin, static_cast<std::size_t>(static_cast<const char*>(nul) - begin)};
}

std::uint64_t align_up(std::uint64_t v, std::uint64_t a) { return (v + a - 1) / a * a; }

// std::lower_bound's index, without the unpredictable branch per step: the
// symbol passes search a few dozen addresses once for each of ~10^4-10^5
// symbols.
std::size_t branchless_lower_bound(const std::vector<std::uint64_t>& sorted, std::uint64_t v) {
  if (sorted.empty()) return 0;
  const std::uint64_t* base = sorted.data();
  std::size_t n = sorted.size();
  while (n > 1) {
    const std::size_t half = n / 2;
    base = base[half] < v ? base + half : base;
    n -= half;
  }
  return static_cast<std::size_t>(base - sorted.data()) + (*base < v ? 1 : 0);
}

// One .dynsym or .symtab with its string table, as the file holds them.
struct RawTable {
  std::uint64_t entries_offset = 0;  // in the file
  std::uint64_t count = 0;           // entries, the null one at index 0 included
  // Symbols' names point into this buffer (not zero-filled first: a debug
  // file's string table is ~0.6 MB).
  std::unique_ptr<std::byte[]> string_bytes;
  std::span<const std::byte> strings;
  // One past the last NUL of `strings`: a name starting at or past it would
  // run off the end.
  std::size_t names_end = 0;
  bool dynamic = false;
};

struct SymbolEntry {
  ElfSymbol symbol;
  std::uint8_t rank = 0;
  std::uint32_t section = ~0u;  // index into the file's sections, or ~0
};

// Symbols sorted by address, deduplicated, with the lookups ElfFile offers.
// Built over a whole file's tables, or over just the symbols a batch of
// lookups needs: given every symbol at the addresses that matter, `at`
// answers as it would over the whole table (see ElfFile::symbols_at).
class SymbolIndex {
 public:
  // Symbols must be added in one fixed order (the file's): it breaks ties.
  void add(const SymbolEntry& entry) {
    symbols_.push_back(entry.symbol);
    ranks_.push_back(entry.rank);
    sections_.push_back(entry.section);
  }
  void finish();
  const ElfSymbol* at(std::uint64_t vaddr, const std::vector<ElfSection>& sections) const;
  // The symbol with this name: the best-ranked, the lowest address among equals.
  const ElfSymbol* named(std::string_view name) const;
  std::size_t size() const { return symbols_.size(); }

 private:
  std::vector<ElfSymbol> symbols_;        // by value, then rank
  std::vector<std::uint8_t> ranks_;       // parallel to symbols_
  std::vector<std::uint32_t> sections_;   // parallel: index into sections, or ~0
  std::vector<std::uint64_t> max_end_;    // prefix max of value + size
};

void SymbolIndex::finish() {
  std::vector<std::size_t> order(symbols_.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  // .symtab repeats most of .dynsym: keep one copy per (value, name), the
  // best-ranked one (the first added among equals, so that an index over a
  // few symbols keeps the same copy as one over all).
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    const auto& x = symbols_[a];
    const auto& y = symbols_[b];
    if (x.value != y.value) return x.value < y.value;
    if (x.name != y.name) return x.name < y.name;
    if (ranks_[a] != ranks_[b]) return ranks_[a] < ranks_[b];
    return a < b;
  });
  order.erase(std::unique(order.begin(), order.end(),
                          [&](std::size_t a, std::size_t b) {
                            if (symbols_[a].value != symbols_[b].value ||
                                symbols_[a].name != symbols_[b].name)
                              return false;
                            symbols_[a].dynamic |= symbols_[b].dynamic;  // a is kept
                            return true;
                          }),
              order.end());
  // Among aliases of one address (glibc has clone3, __clone3, __GI___clone3),
  // prefer the name a person wrote: gdb shows the DWARF name, which is that one.
  auto alias_penalty = [](std::string_view name) {
    std::size_t underscores = 0;
    while (underscores < name.size() && name[underscores] == '_') ++underscores;
    return (name.starts_with("__GI_") ? 100 : 0) + underscores;
  };
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    if (symbols_[a].value != symbols_[b].value) return symbols_[a].value < symbols_[b].value;
    if (ranks_[a] != ranks_[b]) return ranks_[a] < ranks_[b];
    return alias_penalty(symbols_[a].name) < alias_penalty(symbols_[b].name);
  });

  std::vector<ElfSymbol> sorted;
  std::vector<std::uint8_t> sorted_ranks;
  std::vector<std::uint32_t> sorted_sections;
  sorted.reserve(order.size());
  sorted_ranks.reserve(order.size());
  sorted_sections.reserve(order.size());
  for (std::size_t i : order) {
    sorted.push_back(symbols_[i]);
    sorted_ranks.push_back(ranks_[i]);
    sorted_sections.push_back(sections_[i]);
  }
  symbols_ = std::move(sorted);
  ranks_ = std::move(sorted_ranks);
  sections_ = std::move(sorted_sections);

  max_end_.resize(symbols_.size());
  std::uint64_t running = 0;
  for (std::size_t i = 0; i < symbols_.size(); ++i) {
    const auto& s = symbols_[i];
    const std::uint64_t end =
        s.size > ~0ull - s.value ? ~0ull : s.value + s.size;  // saturate on garbage
    running = std::max(running, end);
    max_end_[i] = running;
  }
}

const ElfSymbol* SymbolIndex::at(std::uint64_t vaddr,
                                 const std::vector<ElfSection>& sections) const {
  const auto& syms = symbols_;
  auto it = std::upper_bound(syms.begin(), syms.end(), vaddr,
                             [](std::uint64_t v, const ElfSymbol& s) { return v < s.value; });
  if (it == syms.begin()) return nullptr;
  const auto last = static_cast<std::size_t>(it - syms.begin()) - 1;
  const auto group_start = [&](std::size_t j) {
    const auto v = syms[j].value;
    return static_cast<std::size_t>(
        std::lower_bound(syms.begin(), syms.begin() + static_cast<std::ptrdiff_t>(j), v,
                         [](const ElfSymbol& s, std::uint64_t x) { return s.value < x; }) -
        syms.begin());
  };

  // Sized symbols first: walk back group by group while some earlier symbol
  // could still reach vaddr (max_end is a prefix maximum, so this stops at
  // the first gap).
  for (std::size_t j = last + 1; j > 0 && max_end_[j - 1] > vaddr;) {
    const std::size_t g = group_start(j - 1);
    for (std::size_t k = g; k < j; ++k) {
      const auto& s = syms[k];
      if (s.size != 0 && vaddr - s.value < s.size) return &s;
    }
    j = g;
  }
  // Else the nearest unsized label, if vaddr is still inside its section.
  for (std::size_t k = group_start(last); k <= last; ++k) {
    const auto& s = syms[k];
    if (s.size != 0) continue;
    const auto sec = sections_[k];
    if (sec >= sections.size()) return &s;
    const auto& sp = sections[sec];
    if (vaddr >= sp.addr && vaddr - sp.addr < sp.size) return &s;
  }
  return nullptr;
}

const ElfSymbol* SymbolIndex::named(std::string_view name) const {
  const ElfSymbol* best = nullptr;
  std::uint8_t best_rank = 0;
  for (std::size_t i = 0; i < symbols_.size(); ++i)
    if (symbols_[i].name == name && (best == nullptr || ranks_[i] < best_rank)) {
      best = &symbols_[i];
      best_rank = ranks_[i];
    }
  return best;
}

}  // namespace

struct ElfFile::Impl {
  struct SectionExtra {
    std::uint64_t align = 0, entsize = 0;
    std::uint32_t link = 0;
  };

  std::string path;
  int fd = -1;
  std::uint64_t file_size = 0;
  bool dyn = false, rel = false;
  std::string build_id, debuglink;
  std::optional<std::uint64_t> eh_frame_hdr;
  std::vector<ElfLoadSegment> segments;
  std::vector<ElfSection> sections;
  std::vector<SectionExtra> section_extras;  // parallel to sections

  // Symbols are read on first use, not by open(): a one-shot run needs the
  // names of a few dozen addresses in two or three of the ~10 files a process
  // maps, and sorting a whole .symtab costs milliseconds.
  bool symbols_enabled = false;
  bool raw_loaded = false;
  std::vector<RawTable> raw;  // .dynsym and .symtab as in the file
  // Every symbol, sorted: built only when an address outside every batch
  // given to symbols_at is looked up.
  std::optional<SymbolIndex> full;
  // The few symbols each symbols_at batch or find_symbol scan needed (a
  // deque: answers point into them).
  std::deque<SymbolIndex> partial;
  std::unordered_map<std::uint64_t, const ElfSymbol*> by_address;  // symbols_at's answers
  std::unordered_map<std::string, const ElfSymbol*> by_name;       // find_symbol's answers

  Impl() = default;
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  ~Impl() {
    if (fd >= 0) ::close(fd);
  }

  std::unexpected<Error> past_end(std::uint64_t offset, std::uint64_t size) const {
    return fail(ErrorCode::kDebugInfo,
                "truncated ELF file " + path + ": " + std::to_string(size) +
                    " bytes at offset " + std::to_string(offset) + " are past its end");
  }

  Result<std::vector<std::byte>> read_at(std::uint64_t offset, std::uint64_t size) const {
    if (offset > file_size || size > file_size - offset)  // before allocating `size` bytes
      return past_end(offset, size);
    std::vector<std::byte> out(size);
    if (auto read = read_into(offset, out); !read) return std::unexpected(read.error());
    return out;
  }

  Result<void> read_into(std::uint64_t offset, std::span<std::byte> out) const {
    const std::uint64_t size = out.size();
    if (offset > file_size || size > file_size - offset) return past_end(offset, size);
    std::size_t done = 0;
    while (done < size) {
      const ssize_t n = ::pread(fd, out.data() + done, size - done,
                                static_cast<off_t>(offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0)
        return fail(ErrorCode::kDebugInfo, "cannot read " + path + ": " + std::strerror(errno),
                    errno);
      if (n == 0)
        return fail(ErrorCode::kDebugInfo, "truncated ELF file " + path + " (shrank while read)");
      done += static_cast<std::size_t>(n);
    }
    return {};
  }

  const ElfSection* find_section(std::string_view name) const {
    for (const auto& s : sections)
      if (s.name == name) return &s;
    return nullptr;
  }

  Result<void> parse();
  void parse_sections(std::uint64_t shnum, std::uint64_t shstrndx,
                      std::span<const std::byte> table);
  void parse_notes(std::span<const std::byte> notes, std::uint64_t align);

  void load_raw_tables();
  void load_raw_table(std::size_t table_index);
  // Calls fn(table, entry) for every symbol that names a defined function or
  // object; `entry` is raw, its name not yet looked up.
  template <class Fn>
  void for_each_symbol(Fn&& fn);
  template <class Fn>
  void for_each_symbol_in(const RawTable& table, std::span<const std::byte> entries,
                          std::size_t from, Fn& fn);
  std::unique_ptr<std::byte[]> chunk;  // for_each_symbol's read buffer
  SymbolEntry entry_of(const RawTable& table, const Elf64_Sym& s) const;
  const SymbolIndex& full_index();
};

Result<void> ElfFile::Impl::parse() {
  if (file_size < sizeof(Elf64_Ehdr))
    return fail(ErrorCode::kDebugInfo, "not an ELF file (too short): " + path);
  const auto ident = PYATTACH_TRY(read_at(0, sizeof(Elf64_Ehdr)));
  const auto eh = load<Elf64_Ehdr>(ident, 0);
  if (std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0)
    return fail(ErrorCode::kDebugInfo, "not an ELF file: " + path);
  if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB ||
      eh.e_machine != EM_X86_64)
    return fail(ErrorCode::kDebugInfo, "not a 64-bit x86-64 ELF file: " + path);
  dyn = eh.e_type == ET_DYN;
  rel = eh.e_type == ET_REL;

  // Section 0 carries the real counts when they overflow the ELF header
  // (e_shnum == 0, e_shstrndx == SHN_XINDEX, e_phnum == PN_XNUM).
  std::uint64_t shnum = eh.e_shnum, shstrndx = eh.e_shstrndx, phnum = eh.e_phnum;
  std::vector<std::byte> shtab;
  if (eh.e_shoff != 0) {
    if (eh.e_shentsize != sizeof(Elf64_Shdr))
      return fail(ErrorCode::kDebugInfo, "corrupt ELF section header size in " + path);
    const auto sh0 = PYATTACH_TRY(read_at(eh.e_shoff, sizeof(Elf64_Shdr)));
    const auto s0 = load<Elf64_Shdr>(sh0, 0);
    if (shnum == 0) shnum = s0.sh_size;
    if (shstrndx == SHN_XINDEX) shstrndx = s0.sh_link;
    if (phnum == PN_XNUM) phnum = s0.sh_info;
    if (shnum > file_size / sizeof(Elf64_Shdr))
      return fail(ErrorCode::kDebugInfo, "truncated ELF file " + path + ": section headers");
    shtab = PYATTACH_TRY(read_at(eh.e_shoff, shnum * sizeof(Elf64_Shdr)));
  } else {
    shnum = 0;
  }

  if (phnum != 0) {
    if (eh.e_phentsize != sizeof(Elf64_Phdr) || phnum > file_size / sizeof(Elf64_Phdr))
      return fail(ErrorCode::kDebugInfo, "corrupt ELF program headers in " + path);
    const auto phtab = PYATTACH_TRY(read_at(eh.e_phoff, phnum * sizeof(Elf64_Phdr)));
    for (std::uint64_t i = 0; i < phnum; ++i) {
      const auto ph = load<Elf64_Phdr>(phtab, i * sizeof(Elf64_Phdr));
      if (ph.p_type == PT_GNU_EH_FRAME) eh_frame_hdr = ph.p_vaddr;
      if (ph.p_type != PT_LOAD) continue;
      segments.push_back({ph.p_vaddr, ph.p_memsz, ph.p_offset, ph.p_filesz,
                          (ph.p_flags & PF_X) != 0});
    }
    std::sort(segments.begin(), segments.end(),
              [](const auto& a, const auto& b) { return a.vaddr < b.vaddr; });
  }

  parse_sections(shnum, shstrndx, shtab);

  // Build ID: from note sections, or from PT_NOTE when sections are stripped.
  for (std::size_t i = 0; i < sections.size() && build_id.empty(); ++i) {
    const auto& s = sections[i];
    if (s.type != SHT_NOTE || s.size > kMaxNoteBytes) continue;
    if (auto data = read_at(s.offset, s.size)) parse_notes(*data, section_extras[i].align);
  }
  if (build_id.empty() && phnum != 0) {
    const auto phtab = PYATTACH_TRY(read_at(eh.e_phoff, phnum * sizeof(Elf64_Phdr)));
    for (std::uint64_t i = 0; i < phnum && build_id.empty(); ++i) {
      const auto ph = load<Elf64_Phdr>(phtab, i * sizeof(Elf64_Phdr));
      if (ph.p_type != PT_NOTE || ph.p_filesz > kMaxNoteBytes) continue;
      if (auto data = read_at(ph.p_offset, ph.p_filesz)) parse_notes(*data, ph.p_align);
    }
  }

  if (const auto* s = find_section(".gnu_debuglink");
      s && s->type != SHT_NOBITS && s->size <= kMaxNoteBytes) {
    if (auto data = read_at(s->offset, s->size)) debuglink = std::string(string_at(*data, 0));
  }

  return {};
}

void ElfFile::Impl::parse_sections(std::uint64_t shnum, std::uint64_t shstrndx,
                                   std::span<const std::byte> table) {
  std::vector<std::byte> names;
  if (shstrndx < shnum) {
    const auto sh = load<Elf64_Shdr>(table, shstrndx * sizeof(Elf64_Shdr));
    if (sh.sh_type != SHT_NOBITS && sh.sh_size <= kMaxTableBytes) {
      if (auto data = read_at(sh.sh_offset, sh.sh_size)) names = std::move(*data);
    }
  }
  sections.reserve(shnum);
  section_extras.reserve(shnum);
  for (std::uint64_t i = 0; i < shnum; ++i) {
    const auto sh = load<Elf64_Shdr>(table, i * sizeof(Elf64_Shdr));
    sections.push_back({std::string(string_at(names, sh.sh_name)), sh.sh_addr, sh.sh_offset,
                        sh.sh_size, sh.sh_type, sh.sh_flags});
    section_extras.push_back({sh.sh_addralign, sh.sh_entsize, sh.sh_link});
  }
}

void ElfFile::Impl::parse_notes(std::span<const std::byte> notes, std::uint64_t align) {
  // Notes in 64-bit objects are 4-byte aligned in practice; .note.gnu.property
  // declares 8.
  const std::uint64_t a = align == 8 ? 8 : 4;
  std::uint64_t at = 0;
  while (notes.size() - at >= sizeof(Elf64_Nhdr)) {
    const auto nh = load<Elf64_Nhdr>(notes, at);
    at += sizeof(Elf64_Nhdr);
    const std::uint64_t name_at = at;
    const std::uint64_t desc_at = align_up(name_at + nh.n_namesz, a);
    if (desc_at > notes.size() || nh.n_descsz > notes.size() - desc_at) return;
    const std::uint64_t next = align_up(desc_at + nh.n_descsz, a);
    if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 && nh.n_descsz > 0 &&
        std::memcmp(notes.data() + name_at, "GNU", 4) == 0) {
      build_id = to_hex(notes.subspan(desc_at, nh.n_descsz));
      return;
    }
    if (next > notes.size()) return;
    at = next;
  }
}

void ElfFile::Impl::load_raw_tables() {
  if (raw_loaded) return;
  raw_loaded = true;
  if (!symbols_enabled) return;
  for (std::size_t i = 0; i < sections.size(); ++i)
    if (sections[i].type == SHT_SYMTAB || sections[i].type == SHT_DYNSYM) load_raw_table(i);
}

void ElfFile::Impl::load_raw_table(std::size_t table_index) {
  auto log = log::get("elf");
  const auto& table = sections[table_index];
  const auto& extra = section_extras[table_index];
  const char* kind = table.type == SHT_SYMTAB ? ".symtab" : ".dynsym";
  if (table.size > kMaxTableBytes || extra.link >= sections.size() ||
      (extra.entsize != 0 && extra.entsize != sizeof(Elf64_Sym))) {
    log->warn("{}: ignoring malformed {}", path, kind);
    return;
  }
  const auto& strtab = sections[extra.link];
  if (strtab.size > kMaxTableBytes || strtab.type == SHT_NOBITS) {
    log->warn("{}: ignoring {} without string table", path, kind);
    return;
  }
  // The entries are streamed from the file by each pass (for_each_symbol);
  // the string table stays, for the names.
  const auto within_file = [&](const ElfSection& s) {
    return s.offset <= file_size && s.size <= file_size - s.offset;
  };
  if (!within_file(table) || !within_file(strtab)) {
    log->warn("{}: {} lies past the end of the file", path, kind);
    return;
  }
  RawTable out;
  out.entries_offset = table.offset;
  out.count = table.size / sizeof(Elf64_Sym);
  out.string_bytes = std::make_unique_for_overwrite<std::byte[]>(strtab.size);
  const std::span<std::byte> strings(out.string_bytes.get(), strtab.size);
  if (!read_into(strtab.offset, strings)) {
    log->warn("{}: {} lies past the end of the file", path, kind);
    return;
  }
  out.strings = strings;
  for (std::size_t i = out.strings.size(); i > 0; --i)
    if (out.strings[i - 1] == std::byte{0}) {
      out.names_end = i;
      break;
    }
  out.dynamic = table.type == SHT_DYNSYM;
  raw.push_back(std::move(out));  // moving keeps the buffers names point into
}

template <class Fn>
void ElfFile::Impl::for_each_symbol(Fn&& fn) {
  load_raw_tables();
  // Entries are read a chunk at a time into one buffer that stays in the
  // CPU cache, instead of a table-sized copy (1 MB for a debug file).
  constexpr std::size_t kChunkEntries = 2048;
  if (!chunk) chunk = std::make_unique_for_overwrite<std::byte[]>(kChunkEntries * sizeof(Elf64_Sym));
  for (const RawTable& table : raw) {
    for (std::uint64_t first = 0; first < table.count; first += kChunkEntries) {
      const std::uint64_t n = std::min<std::uint64_t>(kChunkEntries, table.count - first);
      const std::span<std::byte> bytes(chunk.get(), n * sizeof(Elf64_Sym));
      if (!read_into(table.entries_offset + first * sizeof(Elf64_Sym), bytes)) {
        log::get("elf")->warn("{}: symbol table unreadable from entry {} on", path, first);
        break;
      }
      for_each_symbol_in(table, bytes, first == 0 ? 1 : 0, fn);
    }
  }
}

template <class Fn>
void ElfFile::Impl::for_each_symbol_in(const RawTable& table, std::span<const std::byte> entries,
                                       std::size_t from, Fn& fn) {
  {
    const std::size_t count = entries.size() / sizeof(Elf64_Sym);
    for (std::size_t i = from; i < count; ++i) {
      const auto s = load<Elf64_Sym>(entries, i * sizeof(Elf64_Sym));
      if (s.st_shndx == SHN_UNDEF || s.st_shndx == SHN_ABS || s.st_shndx == SHN_COMMON)
        continue;
      const unsigned type = ELF64_ST_TYPE(s.st_info);
      const bool is_function = type == STT_FUNC || type == STT_GNU_IFUNC;
      if (!is_function && type != STT_OBJECT && !(type == STT_NOTYPE && s.st_value != 0))
        continue;
      // An empty name, or one that runs off the end of the table.
      if (s.st_name >= table.names_end || table.strings[s.st_name] == std::byte{0}) continue;
      fn(table, s);
    }
  }
}

SymbolEntry ElfFile::Impl::entry_of(const RawTable& table, const Elf64_Sym& s) const {
  const unsigned type = ELF64_ST_TYPE(s.st_info);
  return {{string_at(table.strings, s.st_name), s.st_value, s.st_size,
           type == STT_FUNC || type == STT_GNU_IFUNC, table.dynamic},
          symbol_rank(s),
          s.st_shndx < sections.size() ? s.st_shndx : ~0u};
}

const SymbolIndex& ElfFile::Impl::full_index() {
  if (!full) {
    full.emplace();
    for_each_symbol([&](const RawTable& table, const Elf64_Sym& s) { full->add(entry_of(table, s)); });
    full->finish();
    log::get("elf")->debug("{}: all {} symbols sorted", path, full->size());
  }
  return *full;
}

ElfFile::ElfFile(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ElfFile::ElfFile(ElfFile&&) noexcept = default;
ElfFile& ElfFile::operator=(ElfFile&&) noexcept = default;
ElfFile::~ElfFile() = default;

Result<ElfFile> ElfFile::open(const std::string& path) {
  return open(path, ElfOpenOptions{});
}

Result<ElfFile> ElfFile::open(const std::string& path, const ElfOpenOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  impl->fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (impl->fd < 0)
    return fail(ErrorCode::kDebugInfo, "cannot open " + path + ": " + std::strerror(errno),
                errno);
  struct stat st {};
  if (::fstat(impl->fd, &st) != 0)
    return fail(ErrorCode::kDebugInfo, "cannot stat " + path + ": " + std::strerror(errno),
                errno);
  // A FIFO or device would block or never end.
  if (!S_ISREG(st.st_mode))
    return fail(ErrorCode::kDebugInfo, "not a regular file: " + path);
  impl->file_size = static_cast<std::uint64_t>(st.st_size);
  impl->symbols_enabled = options.load_symbols;
  if (auto parsed = impl->parse(); !parsed) return std::unexpected(parsed.error());
  log::get("elf")->debug("{}: {} sections, build id {}", path, impl->sections.size(),
                         impl->build_id.empty() ? "none" : impl->build_id);
  return ElfFile(std::move(impl));
}

const std::string& ElfFile::path() const { return impl_->path; }
bool ElfFile::is_pie_or_shared() const { return impl_->dyn; }
bool ElfFile::is_relocatable() const { return impl_->rel; }
std::uint64_t ElfFile::file_size() const { return impl_->file_size; }
const std::string& ElfFile::build_id() const { return impl_->build_id; }
const std::string& ElfFile::debuglink() const { return impl_->debuglink; }

bool ElfFile::has_dwarf() const {
  const auto* s = impl_->find_section(".debug_info");
  return s != nullptr && s->type != SHT_NOBITS && s->size != 0;
}

std::optional<std::uint64_t> ElfFile::eh_frame_hdr() const { return impl_->eh_frame_hdr; }

const std::vector<ElfLoadSegment>& ElfFile::load_segments() const {
  return impl_->segments;
}

std::optional<ElfSection> ElfFile::section(std::string_view name) const {
  if (const auto* s = impl_->find_section(name)) return *s;
  return std::nullopt;
}

const std::vector<ElfSection>& ElfFile::sections() const { return impl_->sections; }

Result<std::vector<std::byte>> ElfFile::section_data(std::string_view name) const {
  const auto* s = impl_->find_section(name);
  if (s == nullptr)
    return fail(ErrorCode::kDebugInfo,
                "no section " + std::string(name) + " in " + impl_->path);
  if (s->type == SHT_NOBITS) return std::vector<std::byte>{};
  return impl_->read_at(s->offset, s->size);
}

Result<std::vector<std::byte>> ElfFile::read_bytes(std::uint64_t file_offset,
                                                   std::uint64_t size) const {
  return impl_->read_at(file_offset, size);
}

void ElfFile::index_all_symbols() const {
  if (impl_->symbols_enabled) (void)impl_->full_index();
}

const ElfSymbol* ElfFile::symbol_at(std::uint64_t vaddr) const {
  if (!impl_->symbols_enabled) return nullptr;
  if (auto it = impl_->by_address.find(vaddr); it != impl_->by_address.end()) return it->second;
  return impl_->full_index().at(vaddr, impl_->sections);
}

std::vector<const ElfSymbol*> ElfFile::symbols_at(std::span<const std::uint64_t> vaddrs) const {
  Impl& impl = *impl_;
  std::vector<const ElfSymbol*> out(vaddrs.size(), nullptr);
  if (!impl.symbols_enabled) return out;
  if (impl.full) {
    for (std::size_t i = 0; i < vaddrs.size(); ++i) out[i] = symbol_at(vaddrs[i]);
    return out;
  }
  std::vector<std::uint64_t> pcs;
  for (std::uint64_t v : vaddrs)
    if (!impl.by_address.contains(v)) pcs.push_back(v);
  std::sort(pcs.begin(), pcs.end());
  pcs.erase(std::unique(pcs.begin(), pcs.end()), pcs.end());
  if (!pcs.empty()) {
    // Pass 1: for each address, the greatest symbol value at or below it
    // (`nearest`, carried forward from the gap between the addresses where
    // each value falls) and the greatest value of a sized symbol covering it.
    const std::size_t n = pcs.size();
    std::vector<std::optional<std::uint64_t>> nearest(n), covering(n);
    impl.for_each_symbol([&](const RawTable&, const Elf64_Sym& s) {
      const std::size_t k = branchless_lower_bound(pcs, s.st_value);
      if (k == n) return;
      if (!nearest[k] || s.st_value > *nearest[k]) nearest[k] = s.st_value;
      // At most n steps, even for a garbage size.
      for (std::size_t i = k; s.st_size != 0 && i < n && pcs[i] - s.st_value < s.st_size; ++i)
        if (!covering[i] || s.st_value > *covering[i]) covering[i] = s.st_value;
    });
    std::vector<std::uint64_t> wanted;
    std::optional<std::uint64_t> carried;
    for (std::size_t i = 0; i < n; ++i) {
      if (nearest[i]) carried = nearest[i];
      if (carried) wanted.push_back(*carried);
      if (covering[i]) wanted.push_back(*covering[i]);
    }
    std::sort(wanted.begin(), wanted.end());
    wanted.erase(std::unique(wanted.begin(), wanted.end()), wanted.end());
    // Pass 2: every symbol at those values. symbol_at's answer for an address
    // lies at one of its two values, and is chosen among the symbols there
    // only; so an index of just these gives the same answers.
    SymbolIndex& few = impl.partial.emplace_back();
    if (!wanted.empty())
      impl.for_each_symbol([&](const RawTable& table, const Elf64_Sym& s) {
        if (const std::size_t w = branchless_lower_bound(wanted, s.st_value);
            w < wanted.size() && wanted[w] == s.st_value)
          few.add(impl.entry_of(table, s));
      });
    few.finish();
    for (std::uint64_t pc : pcs) impl.by_address.emplace(pc, few.at(pc, impl.sections));
  }
  for (std::size_t i = 0; i < vaddrs.size(); ++i) out[i] = impl.by_address.at(vaddrs[i]);
  return out;
}

const ElfSymbol* ElfFile::find_symbol(std::string_view name) const {
  return find_symbols(std::span(&name, 1)).front();
}

std::vector<const ElfSymbol*> ElfFile::find_symbols(
    std::span<const std::string_view> names) const {
  Impl& impl = *impl_;
  std::vector<const ElfSymbol*> out(names.size(), nullptr);
  if (!impl.symbols_enabled) return out;
  // The names not looked for yet that some string table holds (as a whole
  // string or the tail of one): most files have none of the names asked of
  // every mapped file, and cost no pass over their symbols.
  impl.load_raw_tables();
  std::vector<std::string_view> wanted;
  for (std::string_view name : names) {
    if (name.empty() || impl.by_name.contains(std::string(name)) ||
        std::find(wanted.begin(), wanted.end(), name) != wanted.end())
      continue;
    const std::string needle = std::string(name) + '\0';
    const bool present = std::any_of(impl.raw.begin(), impl.raw.end(), [&](const RawTable& t) {
      return ::memmem(t.strings.data(), t.strings.size(), needle.data(), needle.size()) != nullptr;
    });
    if (present)
      wanted.push_back(name);
    else
      impl.by_name.emplace(std::string(name), nullptr);
  }
  if (!wanted.empty()) {
    // One pass for all of them.
    std::vector<SymbolIndex> found(wanted.size());
    impl.for_each_symbol([&](const RawTable& table, const Elf64_Sym& s) {
      const auto& str = table.strings;
      for (std::size_t i = 0; i < wanted.size(); ++i) {
        // string_at(...) == name without a memchr for every symbol.
        const std::string_view name = wanted[i];
        if (s.st_name < str.size() && str.size() - s.st_name > name.size() &&
            str[s.st_name + name.size()] == std::byte{0} &&
            std::memcmp(str.data() + s.st_name, name.data(), name.size()) == 0)
          found[i].add(impl.entry_of(table, s));
      }
    });
    for (std::size_t i = 0; i < wanted.size(); ++i) {
      SymbolIndex& kept = impl.partial.emplace_back(std::move(found[i]));
      kept.finish();
      impl.by_name.emplace(std::string(wanted[i]), kept.named(wanted[i]));
    }
  }
  for (std::size_t i = 0; i < names.size(); ++i)
    if (!names[i].empty()) out[i] = impl.by_name.at(std::string(names[i]));
  return out;
}

}  // namespace pyattach::symbols
