#include "symbols/module_symbolizer.h"

#include <cxxabi.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <unordered_map>

#include "core/log.h"
#include "symbols/debug_files.h"

namespace pyattach::symbols {
namespace {

constexpr std::string_view kDeletedSuffix = " (deleted)";

std::string demangle(std::string_view name) {
  if (!name.starts_with("_Z")) return std::string(name);
  int status = 0;
  const std::string terminated(name);  // __cxa_demangle needs a C string
  char* out = abi::__cxa_demangle(terminated.c_str(), nullptr, nullptr, &status);
  if (out == nullptr || status != 0) {
    std::free(out);
    return terminated;
  }
  std::string result(out);
  std::free(out);
  return result;
}

std::uint64_t page_size() {
  const long p = ::sysconf(_SC_PAGESIZE);
  return p > 0 ? static_cast<std::uint64_t>(p) : 4096;
}

// runtime = link-time + bias. ld.so maps each PT_LOAD from page_down(p_offset)
// at bias + page_down(p_vaddr); since p_vaddr == p_offset modulo the page
// size, any mapping of a segment gives
//   bias = start - file_offset - (p_vaddr - p_offset).
// Arithmetic is modulo 2^64, as the loader's is.
std::uint64_t compute_bias(const ElfFile* elf, std::vector<const MemoryMapping*> maps) {
  // A ---p mapping may be what is left of ld.so's reservation of the whole
  // image, whose offset says nothing about the segment at that address.
  const auto no_access = [](const MemoryMapping* m) {
    return !m->readable && !m->writable && !m->executable;
  };
  std::sort(maps.begin(), maps.end(), [&](const auto* a, const auto* b) {
    if (no_access(a) != no_access(b)) return no_access(b);
    return a->file_offset < b->file_offset;
  });
  const MemoryMapping& lowest = *maps.front();
  if (elf == nullptr) return lowest.start - lowest.file_offset;
  if (!elf->is_pie_or_shared()) return 0;  // ET_EXEC runs at its link-time addresses
  const std::uint64_t page = page_size();
  for (const auto* m : maps) {
    for (const auto& seg : elf->load_segments()) {
      if (seg.filesz == 0) continue;
      const std::uint64_t first = seg.offset / page * page;
      const std::uint64_t end =
          seg.filesz > ~0ull - seg.offset ? ~0ull : seg.offset + seg.filesz;
      if (m->file_offset >= first && m->file_offset < end)
        return m->start - m->file_offset - (seg.vaddr - seg.offset);
    }
  }
  const auto& segs = elf->load_segments();
  log::get("elf")->debug("{}: no PT_LOAD matches its mappings; guessing the load bias",
                         elf->path());
  if (segs.empty()) return lowest.start - lowest.file_offset;
  return lowest.start - lowest.file_offset - (segs.front().vaddr - segs.front().offset);
}

}  // namespace

ModuleSymbolizer ModuleSymbolizer::build(const std::vector<MemoryMapping>& maps,
                                         const PathMapper& open_path) {
  auto log = log::get("elf");
  std::vector<const MemoryMapping*> files;
  for (const auto& m : maps)
    if (m.is_file()) files.push_back(&m);
  std::stable_sort(files.begin(), files.end(),
                   [](const auto* a, const auto* b) { return a->start < b->start; });

  // One group per loaded image. A second mapping of a file at offset 0 starts
  // a new image (the same file mapped twice, e.g. by dlmopen or mmap).
  struct Group {
    std::string path;
    std::vector<const MemoryMapping*> maps;
  };
  std::vector<Group> groups;
  std::unordered_map<std::string, std::size_t> open_group;
  for (const auto* m : files) {
    auto it = open_group.find(m->path);
    if (it == open_group.end() || m->file_offset == 0) {
      open_group[m->path] = groups.size();
      groups.push_back({m->path, {m}});
    } else {
      groups[it->second].maps.push_back(m);
    }
  }

  std::unordered_map<std::string, std::shared_ptr<const ElfFile>> cache;
  auto load = [&](const std::string& target_path) -> std::shared_ptr<const ElfFile> {
    const std::string host_path = open_path(target_path);
    if (auto it = cache.find(host_path); it != cache.end()) return it->second;
    std::shared_ptr<const ElfFile> elf;
    if (auto opened = ElfFile::open(host_path))
      elf = std::make_shared<const ElfFile>(std::move(*opened));
    else
      log->debug("no symbols for {}: {}", target_path, opened.error().message);
    cache.emplace(host_path, elf);
    return elf;
  };

  ModuleSymbolizer out;
  for (auto& g : groups) {
    LoadedModule mod;
    mod.path = g.path;
    mod.start = g.maps.front()->start;
    mod.end = g.maps.front()->end;
    for (const auto* m : g.maps) {
      mod.start = std::min(mod.start, m->start);
      mod.end = std::max(mod.end, m->end);
    }
    mod.elf = load(g.path);
    if (!mod.elf && g.path.ends_with(kDeletedSuffix)) {
      // The kernel appends " (deleted)" once the file is unlinked; a file now
      // at the old path may be a newer build, so say so.
      const std::string old_path = g.path.substr(0, g.path.size() - kDeletedSuffix.size());
      mod.elf = load(old_path);
      if (mod.elf)
        log->info("{} was deleted; using the file now at {} (symbols may not match)",
                  old_path, old_path);
    }
    mod.bias = compute_bias(mod.elf.get(), g.maps);
    // Only files without a full symbol table need their debug file for names.
    if (mod.elf && !mod.elf->section(".symtab"))
      if (auto debug = find_debug_file(*mod.elf, g.path, open_path)) {
        if (auto opened = ElfFile::open(*debug)) {
          mod.debug_elf = std::make_shared<const ElfFile>(std::move(*opened));
          mod.debug_path = *debug;
        }
      }
    out.modules_.push_back(std::move(mod));
  }
  std::sort(out.modules_.begin(), out.modules_.end(),
            [](const auto& a, const auto& b) { return a.start < b.start; });
  out.max_end_.reserve(out.modules_.size());
  std::uint64_t running = 0;
  for (const auto& m : out.modules_) {
    running = std::max(running, m.end);
    out.max_end_.push_back(running);
  }
  return out;
}

const LoadedModule* ModuleSymbolizer::module_at(RemoteAddr addr) const {
  const std::uint64_t a = addr.as_int();
  auto it = std::upper_bound(modules_.begin(), modules_.end(), a,
                             [](std::uint64_t v, const LoadedModule& m) { return v < m.start; });
  // Spans overlap only in odd layouts; walk back while an earlier module
  // could still reach addr.
  for (auto i = static_cast<std::size_t>(it - modules_.begin()); i > 0 && max_end_[i - 1] > a;
       --i) {
    const auto& m = modules_[i - 1];
    if (a >= m.start && a < m.end) return &m;
  }
  return nullptr;
}

std::optional<SymbolInfo> ModuleSymbolizer::symbolize(RemoteAddr addr) const {
  const LoadedModule* m = module_at(addr);
  if (m == nullptr || !m->elf) return std::nullopt;
  const ElfSymbol* s = m->debug_elf ? m->debug_elf->symbol_at(addr.as_int() - m->bias) : nullptr;
  if (s == nullptr) s = m->elf->symbol_at(addr.as_int() - m->bias);
  if (s == nullptr) return std::nullopt;
  return SymbolInfo{demangle(s->name), RemoteAddr(s->value + m->bias), s->size, m->path};
}

void ModuleSymbolizer::index_all() const {
  for (const auto& m : modules_)
    for (const auto* elf : {m.elf.get(), m.debug_elf.get()})
      if (elf) elf->index_all_symbols();
}

void ModuleSymbolizer::prefetch(std::span<const RemoteAddr> addrs) const {
  std::map<const LoadedModule*, std::vector<std::uint64_t>> by_module;
  for (RemoteAddr addr : addrs)
    if (const LoadedModule* m = module_at(addr); m != nullptr && m->elf)
      by_module[m].push_back(addr.as_int() - m->bias);
  for (auto& [m, vaddrs] : by_module) {
    // As symbolize: the debug file's names first, the file's own for the rest.
    if (m->debug_elf) {
      const auto found = m->debug_elf->symbols_at(vaddrs);
      std::vector<std::uint64_t> unnamed;
      for (std::size_t i = 0; i < vaddrs.size(); ++i)
        if (found[i] == nullptr) unnamed.push_back(vaddrs[i]);
      vaddrs = std::move(unnamed);
    }
    if (!vaddrs.empty()) (void)m->elf->symbols_at(vaddrs);
  }
}

std::string ModuleSymbolizer::module_of(RemoteAddr addr) const {
  const LoadedModule* m = module_at(addr);
  return m == nullptr ? std::string() : m->path;
}

std::optional<RemoteAddr> ModuleSymbolizer::address_of(std::string_view name,
                                                       std::string_view module_hint) const {
  for (int pass = module_hint.empty() ? 1 : 0; pass < 2; ++pass) {
    for (const auto& m : modules_) {
      if (!m.elf) continue;
      const bool hinted = !module_hint.empty() && m.path.find(module_hint) != std::string::npos;
      if (pass == 0 && !hinted) continue;
      if (pass == 1 && hinted) continue;  // already searched
      if (const ElfSymbol* s = m.elf->find_symbol(name)) return RemoteAddr(s->value + m.bias);
    }
  }
  return std::nullopt;
}

}  // namespace pyattach::symbols
