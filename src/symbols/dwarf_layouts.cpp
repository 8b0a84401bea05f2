#include "symbols/dwarf_layouts.h"

#include <dwarf.h>
#include <elf.h>
#include <fcntl.h>
#include <libdwarf.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>

#include <sys/stat.h>

#include "core/log.h"
#include "symbols/elf_file.h"

// libdwarf 20210528 keeps in this exported global the section-flags callback
// of its own ELF reader, set by dwarf_init_b and never cleared, and calls it
// from every later dwarf_object_init_b with *our* object: it reads that as
// its own and crashes. We clear it before our own init (under g_libdwarf_mutex).
// Weak: a libdwarf without it still links, and then we never take the mapped
// path.
extern "C" __attribute__((weak)) void* _dwarf_get_elf_flags_func_ptr;

namespace pyattach::symbols {
namespace {

// libdwarf's process-wide state (above, and dwarf_set_de_alloc_flag) makes
// loads unsafe to overlap.
std::mutex g_libdwarf_mutex;

// Bounds against malformed DWARF: no real C type nests 64 deep, has a
// typedef/cv chain of 32, or a million members.
constexpr int kMaxTypeDepth = 64;
constexpr int kMaxChain = 32;
constexpr std::size_t kMaxMembers = 1'000'000;
constexpr int kMaxPathDepth = 16;

struct DieFree {
  void operator()(Dwarf_Die d) const { dwarf_dealloc_die(d); }
};
using Die = std::unique_ptr<std::remove_pointer_t<Dwarf_Die>, DieFree>;
struct AttrFree {
  void operator()(Dwarf_Attribute a) const { dwarf_dealloc_attribute(a); }
};
using Attr = std::unique_ptr<std::remove_pointer_t<Dwarf_Attribute>, AttrFree>;

std::string offset_key(Dwarf_Off off) { return fmt::format("@{:#x}", off); }

bool is_record(Dwarf_Half tag) {
  return tag == DW_TAG_structure_type || tag == DW_TAG_union_type ||
         tag == DW_TAG_class_type;
}

// ULEB128 from an expression; false if it runs off the end.
bool read_uleb(const unsigned char*& p, const unsigned char* end, std::uint64_t& out) {
  out = 0;
  for (unsigned shift = 0; p < end; shift += 7) {
    const unsigned char byte = *p++;
    if (shift < 64) out |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return true;
  }
  return false;
}

// A member location given as an expression (GCC's -gdwarf-2 does) is
// DW_OP_plus_uconst N; nothing else is a plain offset.
std::optional<std::uint64_t> offset_from_expr(const void* data, std::uint64_t len) {
  if (data == nullptr || len == 0) return std::nullopt;
  const auto* p = static_cast<const unsigned char*>(data);
  const auto* end = p + len;
  if (*p != DW_OP_plus_uconst) return std::nullopt;
  ++p;
  std::uint64_t v = 0;
  if (!read_uleb(p, end, v) || p != end) return std::nullopt;
  return v;
}

// One libdwarf session over one file, and the walk that fills the layouts.
class Loader {
 public:
  Loader(const std::vector<std::string>& wanted,
         const std::vector<std::pair<std::string, std::string>>& unit_hints) {
    for (const auto& w : wanted)
      if (!w.empty()) remaining_.insert(w);
    for (const auto& [type, unit] : unit_hints) hints_.emplace(type, unit);
  }
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;
  ~Loader() {
    if (dbg_ != nullptr) {
      Dwarf_Error err = nullptr;
      dwarf_finish(dbg_, &err);
    }
    if (map_ != nullptr) ::munmap(map_, map_size_);
    if (fd_ >= 0) ::close(fd_);
  }

  Result<void> open(const std::string& path);
  void prune_absent_names(const ElfFile& elf);
  // Walks units until every wanted type is found; with use_hints, skips the
  // units no remaining type is hinted at once all remaining ones are hinted.
  // Returns how many units it skipped.
  std::size_t walk(bool use_hints);
  std::map<std::string, DwarfLayouts::Type, std::less<>> take_types();
  const std::unordered_set<std::string_view>& remaining() const { return remaining_; }
  std::size_t units_walked() const { return units_; }
  const std::string& first_error() const { return first_error_; }

 private:
  struct Target {
    Dwarf_Off off = 0;
    bool complete = false;
    std::string_view tag_name;  // into .debug_str, valid until dwarf_finish
  };

  // Keeps the first libdwarf error for the log and frees it (libdwarf would
  // otherwise hold it until dwarf_finish).
  int check(int rc, Dwarf_Error& err) {
    if (rc == DW_DLV_ERROR) {
      if (first_error_.empty() && err != nullptr) first_error_ = dwarf_errmsg(err);
      ++errors_;
      if (err != nullptr) dwarf_dealloc_error(dbg_, err);
      err = nullptr;
    }
    return rc;
  }
  Die offdie(Dwarf_Off off) {
    Dwarf_Die d = nullptr;
    Dwarf_Error err = nullptr;
    if (check(dwarf_offdie_b(dbg_, off, true, &d, &err), err) != DW_DLV_OK) return nullptr;
    return Die(d);
  }
  Die child(Dwarf_Die d) {
    Dwarf_Die c = nullptr;
    Dwarf_Error err = nullptr;
    if (check(dwarf_child(d, &c, &err), err) != DW_DLV_OK) return nullptr;
    return Die(c);
  }
  Die sibling(Dwarf_Die d) {
    Dwarf_Die s = nullptr;
    Dwarf_Error err = nullptr;
    if (check(dwarf_siblingof_b(dbg_, d, true, &s, &err), err) != DW_DLV_OK) return nullptr;
    return Die(s);
  }
  Dwarf_Half tag(Dwarf_Die d) {
    Dwarf_Half t = 0;
    Dwarf_Error err = nullptr;
    if (check(dwarf_tag(d, &t, &err), err) != DW_DLV_OK) return 0;
    return t;
  }
  // Points into .debug_str (or the DIE), valid until dwarf_finish.
  std::string_view name(Dwarf_Die d) {
    char* n = nullptr;
    Dwarf_Error err = nullptr;
    if (check(dwarf_diename(d, &n, &err), err) != DW_DLV_OK || n == nullptr) return {};
    return n;
  }
  bool has(Dwarf_Die d, Dwarf_Half attr) {
    Dwarf_Bool b = 0;
    Dwarf_Error err = nullptr;
    return check(dwarf_hasattr(d, attr, &b, &err), err) == DW_DLV_OK && b != 0;
  }
  Attr attr(Dwarf_Die d, Dwarf_Half at) {
    Dwarf_Attribute a = nullptr;
    Dwarf_Error err = nullptr;
    if (check(dwarf_attr(d, at, &a, &err), err) != DW_DLV_OK) return nullptr;
    return Attr(a);
  }
  std::optional<std::uint64_t> udata(Dwarf_Die d, Dwarf_Half at) {
    Attr a = attr(d, at);
    if (!a) return std::nullopt;
    Dwarf_Unsigned v = 0;
    Dwarf_Error err = nullptr;
    if (check(dwarf_formudata(a.get(), &v, &err), err) != DW_DLV_OK) return std::nullopt;
    return v;
  }
  std::optional<Dwarf_Off> type_ref(Dwarf_Die d) {
    Attr a = attr(d, DW_AT_type);
    if (!a) return std::nullopt;
    Dwarf_Off off = 0;
    Dwarf_Error err = nullptr;
    if (check(dwarf_global_formref(a.get(), &off, &err), err) != DW_DLV_OK) return std::nullopt;
    return off;
  }
  std::optional<Dwarf_Off> die_offset(Dwarf_Die d) {
    Dwarf_Off off = 0;
    Dwarf_Error err = nullptr;
    if (check(dwarf_dieoffset(d, &off, &err), err) != DW_DLV_OK) return std::nullopt;
    return off;
  }

  std::optional<std::uint64_t> member_location(Dwarf_Die d);
  void member_bits(Dwarf_Die d, DwarfLayouts::Member& m);
  std::optional<Target> follow(Dwarf_Off off, std::vector<std::string_view>* typedef_names);
  std::optional<std::uint64_t> type_byte_size(Dwarf_Off off);
  std::string build(Dwarf_Off off, int depth);
  void visit_top_level(Dwarf_Die d);
  void name_type(std::string_view name, const std::string& key);

  // libdwarf reads sections through these callbacks from our mapping of the
  // file, so only the pages of the units we walk become resident (its own
  // reader copies all of .debug_info: 16 MiB for libpython3.13).
  static int section_info(void* self, Dwarf_Half index, Dwarf_Obj_Access_Section* out,
                          int* error);
  static Dwarf_Endianness byte_order(void*) { return DW_OBJECT_LSB; }
  static Dwarf_Small length_size(void*) { return 4; }
  static Dwarf_Small pointer_size(void*) { return 8; }
  static Dwarf_Unsigned section_count(void* self) {
    return static_cast<Loader*>(self)->sections_.size();
  }
  static int load_section(void* self, Dwarf_Half index, Dwarf_Small** data, int* error);
  bool use_object_access(const ElfFile& elf) const;

  int fd_ = -1;
  void* map_ = nullptr;
  std::size_t map_size_ = 0;
  std::vector<ElfSection> sections_;
  Dwarf_Obj_Access_Methods methods_{};
  Dwarf_Obj_Access_Interface access_{};
  Dwarf_Debug dbg_ = nullptr;
  std::string path_;
  std::string first_error_;
  std::size_t errors_ = 0, units_ = 0;

  // Wanted names not yet resolved; views into the caller's `wanted`.
  std::unordered_set<std::string_view> remaining_;
  std::unordered_map<std::string_view, std::string_view> hints_;  // into the caller's strings
  // Tag name -> typedef names waiting for a complete definition of the tag
  // (the typedef's CU only declared it). Views into .debug_str.
  std::unordered_map<std::string_view, std::vector<std::string_view>> pending_tags_;
  std::unordered_map<Dwarf_Off, std::string> built_;  // DIE offset -> key
  std::map<std::string, DwarfLayouts::Type, std::less<>> types_;
  std::vector<std::pair<std::string, std::string>> names_;  // name -> key
  std::unordered_set<std::string> named_;
};

Result<void> Loader::open(const std::string& path) {
  path_ = path;
  // libdwarf's own ELF reader is not hardened against every malformed header;
  // our bounds-checked reader screens the file first.
  auto elf = ElfFile::open(path, ElfOpenOptions{.load_symbols = false});
  if (!elf) return std::unexpected(elf.error());
  if (!elf->has_dwarf())
    return fail(ErrorCode::kDebugInfo, "no DWARF debug info in " + path,
                0, "install the debug symbols for this Python build");
  prune_absent_names(*elf);
  // libdwarf otherwise records every allocation in a hash table so that
  // dwarf_finish can free leaks; we free each DIE and attribute ourselves.
  static const int kNoAllocTree = dwarf_set_de_alloc_flag(0);
  (void)kNoAllocTree;
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0)
    return fail(ErrorCode::kDebugInfo, "cannot open " + path + ": " + std::strerror(errno),
                errno);
  Dwarf_Error err = nullptr;
  int rc = DW_DLV_NO_ENTRY;
  if (&_dwarf_get_elf_flags_func_ptr != nullptr && use_object_access(*elf)) {
    struct stat st {};
    if (::fstat(fd_, &st) == 0 && static_cast<std::uint64_t>(st.st_size) == elf->file_size()) {
      map_size_ = static_cast<std::size_t>(st.st_size);
      map_ = ::mmap(nullptr, map_size_, PROT_READ, MAP_PRIVATE, fd_, 0);
      if (map_ == MAP_FAILED) map_ = nullptr;
    }
  }
  if (map_ != nullptr) {
    sections_ = elf->sections();
    methods_ = {section_info, byte_order, length_size, pointer_size, section_count,
                load_section, nullptr};
    access_ = {this, &methods_};
    _dwarf_get_elf_flags_func_ptr = nullptr;
    rc = dwarf_object_init_b(&access_, nullptr, nullptr, DW_GROUPNUMBER_ANY, &dbg_, &err);
  } else {
    rc = dwarf_init_b(fd_, DW_DLC_READ, DW_GROUPNUMBER_ANY, nullptr, nullptr, &dbg_, &err);
  }
  if (rc != DW_DLV_OK) {
    std::string why = "no DWARF sections";
    if (rc == DW_DLV_ERROR && err != nullptr) {
      why = dwarf_errmsg(err);
      dwarf_dealloc_error(nullptr, err);
    }
    dbg_ = nullptr;
    return fail(ErrorCode::kDebugInfo, "cannot read DWARF from " + path + ": " + why);
  }
  return {};
}

// Our callbacks do not relocate and do not decompress: relocatable objects
// and compressed sections go through libdwarf's own reader.
bool Loader::use_object_access(const ElfFile& elf) const {
  if (elf.is_relocatable()) return false;
  for (const auto& s : elf.sections()) {
    if (s.name.starts_with(".zdebug") ||
        (s.name.starts_with(".debug") && (s.flags & SHF_COMPRESSED) != 0))
      return false;
  }
  return true;
}

int Loader::section_info(void* self, Dwarf_Half index, Dwarf_Obj_Access_Section* out,
                         int* error) {
  const auto& loader = *static_cast<Loader*>(self);
  if (index >= loader.sections_.size()) {
    *error = DW_DLE_ELF_SECT_ERR;
    return DW_DLV_ERROR;
  }
  const ElfSection& s = loader.sections_[index];
  *out = {};
  out->addr = s.addr;
  out->type = s.type;
  out->size = s.type == SHT_NOBITS ? 0 : s.size;
  out->name = s.name.c_str();
  return DW_DLV_OK;
}

int Loader::load_section(void* self, Dwarf_Half index, Dwarf_Small** data, int* error) {
  const auto& loader = *static_cast<Loader*>(self);
  if (index >= loader.sections_.size()) {
    *error = DW_DLE_ELF_SECT_ERR;
    return DW_DLV_ERROR;
  }
  const ElfSection& s = loader.sections_[index];
  if (s.type == SHT_NOBITS || s.size == 0) return DW_DLV_NO_ENTRY;
  if (s.offset > loader.map_size_ || s.size > loader.map_size_ - s.offset) {
    *error = DW_DLE_SECTION_SIZE_OR_OFFSET_LARGE;  // the file was cut short
    return DW_DLV_ERROR;
  }
  // libdwarf takes a non-const pointer but, with no relocation callback,
  // only reads through it; the mapping is read-only to make sure.
  *data = static_cast<Dwarf_Small*>(loader.map_) + s.offset;
  return DW_DLV_OK;
}

// A wanted name absent from the file would cost a walk of every unit (the
// caller may ask for _PyCFrame and CFrame, and one of them never exists).
// A DIE name is stored in .debug_str (strp, strx; the linker may tail-merge
// it into a longer string), .debug_line_str, or inline in .debug_info (GCC
// inlines names of up to 3 bytes, such as "_ts"), so a byte search for
// "name\0" in those sections proves absence.
void Loader::prune_absent_names(const ElfFile& elf) {
  constexpr std::uint64_t kChunk = 1 << 20;
  for (const auto& s : elf.sections()) {
    // Compressed or dwz-shared strings are not searchable in place.
    if (s.name.starts_with(".zdebug") || s.name == ".gnu_debugaltlink" ||
        (s.name.starts_with(".debug") && (s.flags & SHF_COMPRESSED) != 0))
      return;
  }
  std::vector<std::string> needles;
  std::size_t longest = 0;
  for (auto n : remaining_) {
    if (n.size() > 4096) continue;  // never pruned; keeps the chunk overlap small
    needles.push_back(std::string(n) + '\0');
    longest = std::max(longest, needles.back().size());
  }
  for (const char* section : {".debug_str", ".debug_line_str", ".debug_info"}) {
    const auto s = elf.section(section);
    if (!s || s->type == SHT_NOBITS) continue;
    for (std::uint64_t at = 0; at < s->size && !needles.empty();) {
      const std::uint64_t len = std::min(kChunk, s->size - at);
      auto bytes = elf.read_bytes(s->offset + at, len);
      if (!bytes) return;  // unreadable: prune nothing
      std::erase_if(needles, [&](const std::string& n) {
        return ::memmem(bytes->data(), bytes->size(), n.data(), n.size()) != nullptr;
      });
      if (at + len >= s->size) break;
      at += len - std::min<std::uint64_t>(len, longest - 1);  // overlap the next chunk
    }
  }
  for (const auto& n : needles) {
    const std::string_view name(n.data(), n.size() - 1);
    log::get("dwarf")->debug("{}: no type can be named {}; not searching for it", path_, name);
    std::erase_if(remaining_, [&](std::string_view r) { return r == name; });
  }
}

std::optional<std::uint64_t> Loader::member_location(Dwarf_Die d) {
  Attr a = attr(d, DW_AT_data_member_location);
  if (!a) return std::nullopt;
  Dwarf_Half form = 0;
  Dwarf_Error err = nullptr;
  if (check(dwarf_whatform(a.get(), &form, &err), err) != DW_DLV_OK) return std::nullopt;
  switch (form) {
    case DW_FORM_exprloc: {
      Dwarf_Unsigned len = 0;
      Dwarf_Ptr data = nullptr;
      if (check(dwarf_formexprloc(a.get(), &len, &data, &err), err) != DW_DLV_OK)
        return std::nullopt;
      return offset_from_expr(data, len);
    }
    case DW_FORM_block1:
    case DW_FORM_block2:
    case DW_FORM_block4:
    case DW_FORM_block: {
      Dwarf_Block* block = nullptr;
      if (check(dwarf_formblock(a.get(), &block, &err), err) != DW_DLV_OK) return std::nullopt;
      auto v = offset_from_expr(block->bl_data, block->bl_len);
      dwarf_dealloc(dbg_, block, DW_DLA_BLOCK);
      return v;
    }
    case DW_FORM_sdata: {
      Dwarf_Signed v = 0;
      if (check(dwarf_formsdata(a.get(), &v, &err), err) != DW_DLV_OK || v < 0)
        return std::nullopt;
      return static_cast<std::uint64_t>(v);
    }
    default: {
      Dwarf_Unsigned v = 0;
      if (check(dwarf_formudata(a.get(), &v, &err), err) != DW_DLV_OK) return std::nullopt;
      return v;
    }
  }
}

void Loader::member_bits(Dwarf_Die d, DwarfLayouts::Member& m) {
  m.bit_offset = m.offset * 8;
  const auto bit_size = udata(d, DW_AT_bit_size);
  if (!bit_size || *bit_size == 0) return;
  m.bit_size = *bit_size;
  if (auto data_bit = udata(d, DW_AT_data_bit_offset)) {  // DWARF 4+
    m.bit_offset = *data_bit;
  } else if (auto msb_bit = udata(d, DW_AT_bit_offset)) {
    // DWARF 2/3 count from the most significant bit of a storage unit of
    // DW_AT_byte_size bytes at data_member_location.
    auto unit_bytes = udata(d, DW_AT_byte_size);
    if (!unit_bytes) {
      if (auto t = type_ref(d)) unit_bytes = type_byte_size(*t);
    }
    const std::uint64_t unit_bits = unit_bytes.value_or(0) * 8;
    if (unit_bits >= *msb_bit + m.bit_size)
      m.bit_offset = m.offset * 8 + unit_bits - *msb_bit - m.bit_size;
  }
  m.offset = m.bit_offset / 8;
}

// Follows typedef/cv-qualifier DIEs from `off` to a struct or union.
std::optional<Loader::Target> Loader::follow(Dwarf_Off off,
                                             std::vector<std::string_view>* typedef_names) {
  for (int i = 0; i < kMaxChain; ++i) {
    Die d = offdie(off);
    if (!d) return std::nullopt;
    const Dwarf_Half t = tag(d.get());
    if (is_record(t)) {
      return Target{off, !has(d.get(), DW_AT_declaration), name(d.get())};
    }
    switch (t) {
      case DW_TAG_typedef:
        if (typedef_names != nullptr) {
          if (auto n = name(d.get()); !n.empty()) typedef_names->push_back(n);
        }
        break;
      case DW_TAG_const_type:
      case DW_TAG_volatile_type:
      case DW_TAG_atomic_type:
      case DW_TAG_restrict_type:
      case DW_TAG_immutable_type:
      case DW_TAG_shared_type:
        break;
      default:
        return std::nullopt;  // pointer, array, base type, function ...
    }
    auto next = type_ref(d.get());
    if (!next) return std::nullopt;
    off = *next;
  }
  return std::nullopt;
}

// sizeof a type, through typedefs and qualifiers.
std::optional<std::uint64_t> Loader::type_byte_size(Dwarf_Off off) {
  for (int i = 0; i < kMaxChain; ++i) {
    Die d = offdie(off);
    if (!d) return std::nullopt;
    if (auto size = udata(d.get(), DW_AT_byte_size)) return size;
    auto next = type_ref(d.get());
    if (!next) return std::nullopt;
    off = *next;
  }
  return std::nullopt;
}

// The layout of the struct/union DIE at `off` and, recursively, of every
// struct/union member held by value. Returns its key, or empty on failure.
std::string Loader::build(Dwarf_Off off, int depth) {
  if (auto it = built_.find(off); it != built_.end()) return it->second;
  if (depth > kMaxTypeDepth) return {};
  Die d = offdie(off);
  if (!d) return {};
  std::string key = offset_key(off);
  built_.emplace(off, key);  // before recursing: a cycle in garbage DWARF ends here

  DwarfLayouts::Type type;
  type.size = udata(d.get(), DW_AT_byte_size).value_or(0);
  std::size_t count = 0;
  for (Die c = child(d.get()); c && count < kMaxMembers; c = sibling(c.get()), ++count) {
    if (tag(c.get()) != DW_TAG_member) continue;
    DwarfLayouts::Member m;
    m.name = std::string(name(c.get()));
    m.offset = member_location(c.get()).value_or(0);  // union members have none
    member_bits(c.get(), m);
    if (auto type_off = type_ref(c.get())) {
      std::vector<std::string_view> typedef_names;
      if (auto target = follow(*type_off, &typedef_names); target && target->complete) {
        m.type_key = build(target->off, depth + 1);
        if (!m.type_key.empty()) {
          for (auto n : typedef_names) name_type(n, m.type_key);
          if (!target->tag_name.empty()) name_type(target->tag_name, m.type_key);
        }
      }
    }
    type.members.push_back(std::move(m));
  }
  types_[key] = std::move(type);
  return key;
}

void Loader::name_type(std::string_view n, const std::string& key) {
  remaining_.erase(n);
  if (auto it = pending_tags_.find(n); it != pending_tags_.end()) {
    auto waiting = std::move(it->second);
    pending_tags_.erase(it);
    for (auto t : waiting) name_type(t, key);
  }
  if (named_.emplace(n).second) names_.emplace_back(std::string(n), key);
}

void Loader::visit_top_level(Dwarf_Die d) {
  const Dwarf_Half t = tag(d);
  if (t != DW_TAG_typedef && !is_record(t)) return;
  const std::string_view n = name(d);
  if (n.empty() || (!remaining_.contains(n) && !pending_tags_.contains(n))) return;

  if (t == DW_TAG_typedef) {
    auto target_off = type_ref(d);
    if (!target_off) return;
    std::vector<std::string_view> typedef_names{n};
    auto target = follow(*target_off, &typedef_names);
    if (!target) return;
    if (!target->complete) {
      // typedef struct _is PyInterpreterState; with `struct _is` defined only
      // in CUs that include CPython's internal headers.
      if (target->tag_name.empty()) return;
      auto& waiting = pending_tags_[target->tag_name];
      waiting.insert(waiting.end(), typedef_names.begin(), typedef_names.end());
      return;
    }
    const std::string key = build(target->off, 0);
    if (key.empty()) return;
    for (auto tn : typedef_names) name_type(tn, key);
    if (!target->tag_name.empty()) name_type(target->tag_name, key);
    return;
  }

  if (has(d, DW_AT_declaration)) return;
  auto off = die_offset(d);
  if (!off) return;
  const std::string key = build(*off, 0);
  if (!key.empty()) name_type(n, key);
}

std::size_t Loader::walk(bool use_hints) {
  // Struct, union and typedef definitions are children of the unit DIE; we
  // never descend into functions, which hold most of the DIEs.
  std::size_t skipped = 0;
  while (!remaining_.empty()) {
    Dwarf_Unsigned header_length = 0, type_offset = 0, next_header = 0;
    Dwarf_Half version = 0, address_size = 0, length_size = 0, extension_size = 0,
               unit_type = 0;
    Dwarf_Off abbrev_offset = 0;
    Dwarf_Sig8 signature{};
    Dwarf_Error err = nullptr;
    const int rc = dwarf_next_cu_header_d(dbg_, true, &header_length, &version,
                                          &abbrev_offset, &address_size, &length_size,
                                          &extension_size, &signature, &type_offset,
                                          &next_header, &unit_type, &err);
    if (check(rc, err) != DW_DLV_OK) break;
    Die unit = sibling(nullptr);
    if (!unit) continue;
    if (use_hints && !hints_.empty()) {
      bool all_hinted = true, hinted_here = false;
      const std::string_view unit_name = name(unit.get());
      for (std::string_view r : remaining_) {
        auto h = hints_.find(r);
        if (h == hints_.end()) {
          all_hinted = false;
          break;
        }
        hinted_here |= unit_name.ends_with(h->second);
      }
      if (all_hinted && !hinted_here) {
        ++skipped;
        continue;
      }
    }
    ++units_;
    for (Die d = child(unit.get()); d && !remaining_.empty(); d = sibling(d.get()))
      visit_top_level(d.get());
  }
  return skipped;
}

std::map<std::string, DwarfLayouts::Type, std::less<>> Loader::take_types() {
  for (const auto& [n, key] : names_) {
    auto it = types_.find(key);
    if (it != types_.end()) types_.emplace(n, it->second);
  }
  return std::move(types_);
}

}  // namespace

Result<DwarfLayouts> DwarfLayouts::load(
    const std::string& path, const std::vector<std::string>& wanted,
    const std::vector<std::pair<std::string, std::string>>& unit_hints) {
  auto log = log::get("dwarf");
  std::lock_guard lock(g_libdwarf_mutex);
  Loader loader(wanted, unit_hints);
  if (auto opened = loader.open(path); !opened) return std::unexpected(opened.error());
  // libdwarf starts over from the first unit after reaching the end, so a
  // second walk sees every unit the first one skipped.
  if (loader.walk(/*use_hints=*/true) > 0 && !loader.remaining().empty()) {
    log->debug("{}: hinted types not in their units; walking every unit", path);
    loader.walk(/*use_hints=*/false);
  }
  if (!loader.first_error().empty())
    log->debug("{}: libdwarf reported errors, first: {}", path, loader.first_error());
  DwarfLayouts out;
  out.types_ = loader.take_types();
  std::size_t found = 0;
  for (const auto& w : wanted) found += out.types_.contains(w) ? 1 : 0;
  if (found == 0)
    return fail(ErrorCode::kDebugInfo, "none of the wanted types is defined in the DWARF of " +
                                           path);
  for (auto missing : loader.remaining())
    log->debug("{}: no struct or union named {}", path, missing);
  log->debug("{}: {} of {} wanted types after {} units", path, found, wanted.size(),
             loader.units_walked());
  return out;
}

const DwarfLayouts::Member* DwarfLayouts::find_member(const Type& t, std::string_view name,
                                                      std::uint64_t& offset,
                                                      int depth) const {
  for (const auto& m : t.members) {
    if (m.name == name) {
      offset += m.offset;
      return &m;
    }
  }
  if (depth >= kMaxPathDepth) return nullptr;
  // C lets the members of an anonymous struct/union be named directly.
  for (const auto& m : t.members) {
    if (!m.name.empty() || m.type_key.empty()) continue;
    auto it = types_.find(m.type_key);
    if (it == types_.end()) continue;
    std::uint64_t inner = 0;
    if (const Member* found = find_member(it->second, name, inner, depth + 1)) {
      offset += m.offset + inner;
      return found;
    }
  }
  return nullptr;
}

std::optional<std::pair<const DwarfLayouts::Member*, std::uint64_t>> DwarfLayouts::find_path(
    std::string_view type, std::string_view member_path) const {
  auto it = types_.find(type);
  if (it == types_.end()) return std::nullopt;
  const Type* current = &it->second;
  const Member* member = nullptr;
  std::uint64_t offset = 0;
  while (true) {
    const auto dot = member_path.find('.');
    const std::string_view part = member_path.substr(0, dot);
    if (part.empty()) return std::nullopt;
    if (member != nullptr) {
      if (member->type_key.empty()) return std::nullopt;  // not a struct/union by value
      auto next = types_.find(member->type_key);
      if (next == types_.end()) return std::nullopt;
      current = &next->second;
    }
    member = find_member(*current, part, offset, 0);
    if (member == nullptr) return std::nullopt;
    if (dot == std::string_view::npos) break;
    member_path.remove_prefix(dot + 1);
  }
  return std::pair{member, offset};
}

std::optional<std::uint64_t> DwarfLayouts::offset_of(std::string_view type,
                                                     std::string_view member_path) const {
  if (member_path.empty()) {
    if (types_.contains(type)) return 0;
    return std::nullopt;
  }
  auto found = find_path(type, member_path);
  if (!found) return std::nullopt;
  return found->second;
}

std::optional<std::uint64_t> DwarfLayouts::size_of(std::string_view type) const {
  auto it = types_.find(type);
  if (it == types_.end()) return std::nullopt;
  return it->second.size;
}

std::optional<DwarfLayouts::BitField> DwarfLayouts::bit_field_of(
    std::string_view type, std::string_view member_path) const {
  auto found = find_path(type, member_path);
  if (!found) return std::nullopt;
  const auto& [member, offset] = *found;
  // offset is the containing byte; the member's own bit_offset is relative to
  // its parent, whose start is offset - member->offset.
  const std::uint64_t parent_start = offset - member->offset;
  return BitField{parent_start * 8 + member->bit_offset, member->bit_size};
}

}  // namespace pyattach::symbols
