#include "symbols/elf_file.h"

#include <elf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
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
  std::vector<ElfSymbol> symbols;               // by value, then rank
  std::vector<std::vector<std::byte>> string_tables;  // what symbols' names point into
  std::vector<std::uint8_t> ranks;              // parallel to symbols
  std::vector<std::uint32_t> symbol_sections;   // parallel: index into sections, or ~0
  std::vector<std::uint64_t> max_end;           // prefix max of value + size
  std::unordered_map<std::string_view, std::size_t> by_name;

  Impl() = default;
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  ~Impl() {
    if (fd >= 0) ::close(fd);
  }

  Result<std::vector<std::byte>> read_at(std::uint64_t offset, std::uint64_t size) const {
    if (offset > file_size || size > file_size - offset)
      return fail(ErrorCode::kDebugInfo,
                  "truncated ELF file " + path + ": " + std::to_string(size) +
                      " bytes at offset " + std::to_string(offset) + " are past its end");
    std::vector<std::byte> out(size);
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
    return out;
  }

  const ElfSection* find_section(std::string_view name) const {
    for (const auto& s : sections)
      if (s.name == name) return &s;
    return nullptr;
  }

  Result<void> parse(bool want_symbols);
  void parse_sections(std::uint64_t shnum, std::uint64_t shstrndx,
                      std::span<const std::byte> table);
  void load_symbols(std::size_t table_index);
  void parse_notes(std::span<const std::byte> notes, std::uint64_t align);
  void finish_symbols();
};

Result<void> ElfFile::Impl::parse(bool want_symbols) {
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

  if (want_symbols) {
    for (std::size_t i = 0; i < sections.size(); ++i) {
      if (sections[i].type == SHT_SYMTAB || sections[i].type == SHT_DYNSYM) load_symbols(i);
    }
  }
  finish_symbols();
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

void ElfFile::Impl::load_symbols(std::size_t table_index) {
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
  auto syms = read_at(table.offset, table.size);
  auto strs_read = read_at(strtab.offset, strtab.size);
  if (!syms || !strs_read) {
    log->warn("{}: {} lies past the end of the file", path, kind);
    return;
  }
  // Moving the vector keeps its buffer, so names may point into it.
  string_tables.push_back(std::move(*strs_read));
  const std::vector<std::byte>* strs = &string_tables.back();
  const std::size_t count = syms->size() / sizeof(Elf64_Sym);
  symbols.reserve(symbols.size() + count);
  for (std::size_t i = 1; i < count; ++i) {
    const auto s = load<Elf64_Sym>(*syms, i * sizeof(Elf64_Sym));
    const unsigned type = ELF64_ST_TYPE(s.st_info);
    if (s.st_shndx == SHN_UNDEF || s.st_shndx == SHN_ABS || s.st_shndx == SHN_COMMON)
      continue;
    const bool is_function = type == STT_FUNC || type == STT_GNU_IFUNC;
    if (!is_function && type != STT_OBJECT && !(type == STT_NOTYPE && s.st_value != 0))
      continue;
    const auto name = string_at(*strs, s.st_name);
    if (name.empty()) continue;
    symbols.push_back({name, s.st_value, s.st_size, is_function, table.type == SHT_DYNSYM});
    ranks.push_back(symbol_rank(s));
    symbol_sections.push_back(s.st_shndx < sections.size() ? s.st_shndx : ~0u);
  }
}

void ElfFile::Impl::finish_symbols() {
  std::vector<std::size_t> order(symbols.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  // .symtab repeats most of .dynsym: keep one copy per (value, name), the
  // best-ranked one.
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    const auto& x = symbols[a];
    const auto& y = symbols[b];
    if (x.value != y.value) return x.value < y.value;
    if (x.name != y.name) return x.name < y.name;
    return ranks[a] < ranks[b];
  });
  order.erase(std::unique(order.begin(), order.end(),
                          [&](std::size_t a, std::size_t b) {
                            if (symbols[a].value != symbols[b].value ||
                                symbols[a].name != symbols[b].name)
                              return false;
                            symbols[a].dynamic |= symbols[b].dynamic;  // a is kept
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
    if (symbols[a].value != symbols[b].value) return symbols[a].value < symbols[b].value;
    if (ranks[a] != ranks[b]) return ranks[a] < ranks[b];
    return alias_penalty(symbols[a].name) < alias_penalty(symbols[b].name);
  });

  std::vector<ElfSymbol> sorted;
  std::vector<std::uint8_t> sorted_ranks;
  std::vector<std::uint32_t> sorted_sections;
  sorted.reserve(order.size());
  for (std::size_t i : order) {
    sorted.push_back(std::move(symbols[i]));
    sorted_ranks.push_back(ranks[i]);
    sorted_sections.push_back(symbol_sections[i]);
  }
  symbols = std::move(sorted);
  ranks = std::move(sorted_ranks);
  symbol_sections = std::move(sorted_sections);

  max_end.resize(symbols.size());
  std::uint64_t running = 0;
  for (std::size_t i = 0; i < symbols.size(); ++i) {
    const auto& s = symbols[i];
    const std::uint64_t end =
        s.size > ~0ull - s.value ? ~0ull : s.value + s.size;  // saturate on garbage
    running = std::max(running, end);
    max_end[i] = running;
  }

  by_name.reserve(symbols.size());
  for (std::size_t i = 0; i < symbols.size(); ++i) {
    auto [it, inserted] = by_name.try_emplace(symbols[i].name, i);
    if (!inserted && ranks[i] < ranks[it->second]) it->second = i;
  }
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
  if (auto parsed = impl->parse(options.load_symbols); !parsed) return std::unexpected(parsed.error());
  log::get("elf")->debug("{}: {} symbols, {} sections, build id {}", path,
                         impl->symbols.size(), impl->sections.size(),
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

const ElfSymbol* ElfFile::symbol_at(std::uint64_t vaddr) const {
  const auto& syms = impl_->symbols;
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
  for (std::size_t j = last + 1; j > 0 && impl_->max_end[j - 1] > vaddr;) {
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
    const auto sec = impl_->symbol_sections[k];
    if (sec >= impl_->sections.size()) return &s;
    const auto& sp = impl_->sections[sec];
    if (vaddr >= sp.addr && vaddr - sp.addr < sp.size) return &s;
  }
  return nullptr;
}

const ElfSymbol* ElfFile::find_symbol(std::string_view name) const {
  auto it = impl_->by_name.find(name);
  return it == impl_->by_name.end() ? nullptr : &impl_->symbols[it->second];
}

}  // namespace pyattach::symbols
