#include <doctest/doctest.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "core/proc_maps.h"
#include "symbols/module_symbolizer.h"

using namespace pyattach;
using symbols::ModuleSymbolizer;

namespace {

const std::string kFixtures = PYATTACH_SYMBOL_FIXTURES_DIR;
const std::string kLib = kFixtures + "/liblayouts_dwarf5.so";
constexpr std::uint64_t kPage = 4096;

std::string identity(const std::string& p) { return p; }

// The mappings ld.so would create for `elf_path` loaded at `base`: one per
// PT_LOAD, page-aligned, plus the anonymous .bss tail, named `shown_path`.
std::vector<MemoryMapping> mappings_for(const std::string& elf_path, std::uint64_t base,
                                        const std::string& shown_path, bool dyn = true) {
  auto elf = symbols::ElfFile::open(elf_path);
  REQUIRE(elf);
  std::vector<MemoryMapping> out;
  const std::uint64_t bias = dyn ? base : 0;
  for (const auto& seg : elf->load_segments()) {
    MemoryMapping m;
    m.start = (bias + seg.vaddr) / kPage * kPage;
    m.end = (bias + seg.vaddr + seg.filesz + kPage - 1) / kPage * kPage;
    m.file_offset = seg.offset / kPage * kPage;
    m.readable = true;
    m.executable = seg.executable;
    m.inode = 4242;
    m.path = shown_path;
    out.push_back(m);
    if (seg.memsz > seg.filesz) {
      MemoryMapping bss;
      bss.start = m.end;
      bss.end = (bias + seg.vaddr + seg.memsz + kPage - 1) / kPage * kPage;
      bss.readable = bss.writable = true;
      if (bss.end > bss.start) out.push_back(bss);
    }
  }
  return out;
}

extern "C" [[gnu::noinline]] int pyattach_symbolizer_probe(int x) {
  return x * 7 + static_cast<int>(::getpid() & 1);
}

namespace probe {
[[gnu::noinline]] int cpp_probe(int x) { return x + static_cast<int>(::getpid() & 3); }
}  // namespace probe

}  // namespace

TEST_CASE("ModuleSymbolizer computes the load bias of a shared object") {
  const std::uint64_t base = 0x7f1234500000;
  auto maps = mappings_for(kLib, base, kLib);
  auto sym = ModuleSymbolizer::build(maps, identity);
  REQUIRE(sym.modules().size() == 1);
  const auto& mod = sym.modules().front();
  CHECK(mod.path == kLib);
  CHECK(mod.bias == base);
  REQUIRE(mod.elf != nullptr);
  CHECK(mod.start == maps.front().start);

  const auto* fn = mod.elf->find_symbol("fx_function_a");
  REQUIRE(fn != nullptr);
  auto info = sym.symbolize(RemoteAddr(base + fn->value + 1));
  REQUIRE(info);
  CHECK(info->name == "fx_function_a");
  CHECK(info->start == RemoteAddr(base + fn->value));
  CHECK(info->size == fn->size);
  CHECK(info->module_path == kLib);

  CHECK(sym.address_of("fx_function_a", "layouts") == RemoteAddr(base + fn->value));
  CHECK(sym.address_of("fx_function_a", "not-a-module") == RemoteAddr(base + fn->value));
  CHECK(sym.address_of("fx_function_a", {}) == RemoteAddr(base + fn->value));
  CHECK_FALSE(sym.address_of("no_such_symbol", "layouts"));

  CHECK(sym.module_of(RemoteAddr(base + fn->value)) == kLib);
  CHECK(sym.module_at(RemoteAddr(base + fn->value)) == &mod);
  CHECK(sym.module_of(RemoteAddr(base - 1)).empty());
  CHECK(sym.module_of(RemoteAddr(mod.end)).empty());
  CHECK_FALSE(sym.symbolize(RemoteAddr(base - 1)));
}

TEST_CASE("ModuleSymbolizer finds the bias from any mapping of the file") {
  const std::uint64_t base = 0x7f0000000000;
  auto maps = mappings_for(kLib, base, kLib);
  REQUIRE(maps.size() >= 2);
  // Only the executable mapping (as if the others were unmapped).
  std::vector<MemoryMapping> text_only;
  for (const auto& m : maps)
    if (m.executable) text_only.push_back(m);
  REQUIRE(text_only.size() == 1);
  REQUIRE(text_only.front().file_offset != 0);
  auto sym = ModuleSymbolizer::build(text_only, identity);
  REQUIRE(sym.modules().size() == 1);
  CHECK(sym.modules().front().bias == base);
}

TEST_CASE("ModuleSymbolizer ignores inaccessible leftovers when computing the bias") {
  const std::uint64_t base = 0x7f0000000000;
  auto maps = mappings_for(kLib, base, kLib);
  const MemoryMapping* text = nullptr;
  std::vector<MemoryMapping> kept;
  for (const auto& m : maps) {
    if (m.executable) text = &m;
    if (m.inode != 0 && !m.executable && m.file_offset != 0) kept.push_back(m);
  }
  REQUIRE(text != nullptr);
  REQUIRE_FALSE(kept.empty());
  // What remains of ld.so's reservation of the image: ---p, with a lower file
  // offset than the mappings left, at an address unrelated to that offset.
  MemoryMapping leftover = *text;
  leftover.start = kept.back().end + 0x100000;
  leftover.end = leftover.start + kPage;
  leftover.readable = leftover.executable = false;
  REQUIRE(leftover.file_offset < kept.front().file_offset);
  kept.push_back(leftover);
  auto sym = ModuleSymbolizer::build(kept, identity);
  REQUIRE(sym.modules().size() == 1);
  CHECK(sym.modules().front().bias == base);
  CHECK(sym.modules().front().end == leftover.end);
}

TEST_CASE("ModuleSymbolizer maps target paths to host paths") {
  const std::uint64_t base = 0x7f5500000000;
  std::vector<std::string> asked;
  auto maps = mappings_for(kLib, base, "/target/lib/liblayouts.so");
  auto sym = ModuleSymbolizer::build(maps, [&](const std::string& p) {
    asked.push_back(p);
    return p == "/target/lib/liblayouts.so" ? kLib : p;
  });
  CHECK(asked == std::vector<std::string>{"/target/lib/liblayouts.so"});  // opened once
  REQUIRE(sym.modules().size() == 1);
  CHECK(sym.modules().front().path == "/target/lib/liblayouts.so");
  auto addr = sym.address_of("fx_function_b", "liblayouts");
  REQUIRE(addr);
  auto info = sym.symbolize(*addr);
  REQUIRE(info);
  CHECK(info->name == "fx_function_b");
  CHECK(info->module_path == "/target/lib/liblayouts.so");
}

TEST_CASE("ModuleSymbolizer keeps modules it cannot read, and reads deleted files") {
  std::vector<MemoryMapping> maps = {
      {0x10000, 0x20000, true, false, true, false, 0, 99, "/nonexistent/libnothing.so"},
      {0x20000, 0x21000, true, true, false, false, 0x10000, 99, "/nonexistent/libnothing.so"},
      {0x30000, 0x31000, true, true, false, false, 0, 0, "[heap]"},
  };
  const std::uint64_t base = 0x7f6600000000;
  for (auto m : mappings_for(kLib, base, kLib + " (deleted)")) maps.push_back(m);
  auto sym = ModuleSymbolizer::build(maps, identity);
  REQUIRE(sym.modules().size() == 2);

  const auto& nothing = sym.modules().front();
  CHECK(nothing.path == "/nonexistent/libnothing.so");
  CHECK(nothing.elf == nullptr);
  CHECK(nothing.start == 0x10000);
  CHECK(nothing.end == 0x21000);
  CHECK(sym.module_of(RemoteAddr(0x20800)) == "/nonexistent/libnothing.so");
  CHECK_FALSE(sym.symbolize(RemoteAddr(0x10010)));
  CHECK(sym.module_of(RemoteAddr(0x30010)).empty());  // [heap] is no module

  const auto& deleted = sym.modules().back();
  CHECK(deleted.path == kLib + " (deleted)");
  REQUIRE(deleted.elf != nullptr);
  CHECK(deleted.bias == base);
  auto addr = sym.address_of("fx_function_a", "liblayouts");
  REQUIRE(addr);
  CHECK(sym.symbolize(*addr)->name == "fx_function_a");
}

TEST_CASE("ModuleSymbolizer: two images of one file, and a non-PIE executable") {
  auto maps = mappings_for(kLib, 0x7f1000000000, kLib);
  for (auto m : mappings_for(kLib, 0x7f2000000000, kLib)) maps.push_back(m);
  for (auto m : mappings_for(kFixtures + "/fx_exec", 0, kFixtures + "/fx_exec", false))
    maps.push_back(m);
  auto sym = ModuleSymbolizer::build(maps, identity);
  REQUIRE(sym.modules().size() == 3);

  const auto& exe = sym.modules()[0];
  CHECK(exe.path == kFixtures + "/fx_exec");
  CHECK(exe.bias == 0);
  const auto& first = sym.modules()[1];
  const auto& second = sym.modules()[2];
  CHECK(first.bias == 0x7f1000000000);
  CHECK(second.bias == 0x7f2000000000);
  CHECK(first.elf == second.elf);  // the file was read once

  auto exec_fn = sym.address_of("fx_exec_function", "fx_exec");
  REQUIRE(exec_fn);
  REQUIRE(exe.elf != nullptr);
  CHECK(exec_fn->as_int() == exe.elf->find_symbol("fx_exec_function")->value);
  auto info = sym.symbolize(*exec_fn + 2);
  REQUIRE(info);
  CHECK(info->name == "fx_exec_function");

  const auto* fn = first.elf->find_symbol("fx_function_a");
  REQUIRE(fn != nullptr);
  auto in_second = sym.symbolize(RemoteAddr(0x7f2000000000 + fn->value + 4));
  REQUIRE(in_second);
  CHECK(in_second->start == RemoteAddr(0x7f2000000000 + fn->value));
}

TEST_CASE("ModuleSymbolizer over this test process agrees with the dynamic loader") {
  std::ifstream in("/proc/self/maps");
  std::stringstream text;
  text << in.rdbuf();
  auto maps = parse_proc_maps(text.str());
  REQUIRE(maps);
  auto sym = ModuleSymbolizer::build(*maps, identity);

  int (*volatile c_probe)(int) = &pyattach_symbolizer_probe;
  int (*volatile cpp_probe)(int) = &probe::cpp_probe;
  CHECK(c_probe(1) + cpp_probe(1) > 0);
  const RemoteAddr c_addr(reinterpret_cast<std::uint64_t>(c_probe));
  const RemoteAddr cpp_addr(reinterpret_cast<std::uint64_t>(cpp_probe));

  auto info = sym.symbolize(c_addr + 1);
  REQUIRE(info);
  CHECK(info->name == "pyattach_symbolizer_probe");
  CHECK(info->start == c_addr);
  CHECK(sym.address_of("pyattach_symbolizer_probe", "pyattach_unit_tests") == c_addr);

  auto cpp_info = sym.symbolize(cpp_addr);
  REQUIRE(cpp_info);
  CHECK(cpp_info->name.starts_with("(anonymous namespace)::probe::cpp_probe(int)"));

  const RemoteAddr getpid_addr(reinterpret_cast<std::uint64_t>(&::getpid));
  CHECK(sym.address_of("getpid", "libc.so") == getpid_addr);
  auto libc_info = sym.symbolize(getpid_addr);
  REQUIRE(libc_info);
  CHECK(libc_info->name.find("getpid") != std::string::npos);
  CHECK(libc_info->module_path.find("libc.so") != std::string::npos);
}
