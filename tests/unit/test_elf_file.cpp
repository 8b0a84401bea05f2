#include <doctest/doctest.h>

#include "support/quiet_logs.h"
#include <elf.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "core/log.h"
#include "symbols/elf_file.h"

using namespace pyattach;
using symbols::ElfFile;

namespace {

const std::string kFixtures = PYATTACH_SYMBOL_FIXTURES_DIR;
const std::string kLib = kFixtures + "/liblayouts_dwarf5.so";

std::vector<char> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A scratch directory removed with everything in it at scope exit.
class TempDir {
 public:
  TempDir()
      : path_(std::filesystem::temp_directory_path() /
              ("pyattach_elf_test_" + std::to_string(::getpid()))) {
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string write(const std::string& name, const std::vector<char>& bytes) const {
    const auto p = (path_ / name).string();
    std::ofstream(p, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return p;
  }
  std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

// The build ID as `readelf -n` printed it at build time.
std::string readelf_build_id() {
  std::ifstream in(kFixtures + "/liblayouts_notes.txt");
  std::string line;
  while (std::getline(in, line)) {
    const auto at = line.find("Build ID: ");
    if (at != std::string::npos) return line.substr(at + 10);
  }
  return {};
}

using pyattach::testing::QuietLogs;

// Calls every query; the point is that none of them crashes.
void exercise(const ElfFile& elf) {
  (void)elf.build_id();
  (void)elf.debuglink();
  (void)elf.has_dwarf();
  for (const auto& s : elf.sections()) (void)elf.section_data(s.name);
  for (std::uint64_t a : {0ull, 0x1000ull, 0x1100ull, 0x4000ull, ~0ull}) (void)elf.symbol_at(a);
  (void)elf.find_symbol("fx_function_a");
  const std::vector<std::uint64_t> batch = {0, 0x1000, 0x1100, 0x1100, 0x4000, ~0ull};
  (void)elf.symbols_at(batch);
}

// The same symbol, found by two lookups (each keeps its own copy).
bool same_symbol(const pyattach::symbols::ElfSymbol* a, const pyattach::symbols::ElfSymbol* b) {
  if (a == nullptr || b == nullptr) return a == b;
  return a->name == b->name && a->value == b->value && a->size == b->size &&
         a->is_function == b->is_function && a->dynamic == b->dynamic;
}

}  // namespace

TEST_CASE("ElfFile reads symbols, sections, segments and notes of the fixture") {
  auto elf = ElfFile::open(kLib);
  REQUIRE_MESSAGE(elf, (elf ? std::string() : elf.error().message));
  CHECK(elf->path() == kLib);
  CHECK(elf->is_pie_or_shared());
  CHECK(elf->has_dwarf());
  CHECK(elf->debuglink().empty());

  const std::string expected_id = readelf_build_id();
  REQUIRE(expected_id.size() == 40);
  CHECK(elf->build_id() == expected_id);

  const auto& segs = elf->load_segments();
  REQUIRE_FALSE(segs.empty());
  CHECK(std::any_of(segs.begin(), segs.end(), [](const auto& s) { return s.executable; }));
  for (std::size_t i = 1; i < segs.size(); ++i) CHECK(segs[i - 1].vaddr < segs[i].vaddr);

  auto text = elf->section(".text");
  REQUIRE(text);
  CHECK(text->type == SHT_PROGBITS);
  CHECK(text->size > 0);
  CHECK_FALSE(elf->section(".no_such_section"));
  auto comment = elf->section_data(".comment");
  REQUIRE(comment);
  const std::string comment_text(reinterpret_cast<const char*>(comment->data()), comment->size());
  CHECK(comment_text.find("GCC") != std::string::npos);
  auto missing = elf->section_data(".no_such_section");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code == ErrorCode::kDebugInfo);
  CHECK(missing.error().message == "no section .no_such_section in " + kLib);
  CHECK(elf->sections().front().name.empty());  // the null section

  SUBCASE("functions and objects") {
    const auto* fn = elf->find_symbol("fx_function_a");
    REQUIRE(fn != nullptr);
    CHECK(fn->is_function);
    CHECK(fn->size > 0);
    CHECK(fn->value >= text->addr);
    CHECK(same_symbol(elf->symbol_at(fn->value), fn));
    CHECK(same_symbol(elf->symbol_at(fn->value + fn->size - 1), fn));
    const auto* after = elf->symbol_at(fn->value + fn->size);
    CHECK((after == nullptr || after->name != "fx_function_a"));

    const auto* obj = elf->find_symbol("fx_outer_object");
    REQUIRE(obj != nullptr);
    CHECK_FALSE(obj->is_function);
    CHECK(obj->size > 0);
    CHECK(same_symbol(elf->symbol_at(obj->value + 1), obj));

    // A file-local function is in .symtab only.
    const auto* local = elf->find_symbol("fx_static_function");
    REQUIRE(local != nullptr);
    CHECK(local->is_function);
  }

  SUBCASE("unsized labels cover only up to the next symbol in their section") {
    const auto* label = elf->find_symbol("fx_asm_label");
    REQUIRE(label != nullptr);
    CHECK(label->size == 0);
    CHECK_FALSE(label->is_function);
    CHECK(same_symbol(elf->symbol_at(label->value + 2), label));
  }

  SUBCASE("undefined, unknown and out-of-range lookups find nothing") {
    CHECK(elf->find_symbol("__cxa_finalize") == nullptr);  // undefined (weak) here
    CHECK(elf->find_symbol("no_such_symbol") == nullptr);
    CHECK(elf->find_symbol("") == nullptr);
    CHECK(elf->symbol_at(0) == nullptr);
    CHECK(elf->symbol_at(~0ull) == nullptr);
  }

  SUBCASE("each symbol appears once although .symtab repeats .dynsym") {
    const auto* fn = elf->find_symbol("fx_function_a");
    REQUIRE(fn != nullptr);
    const auto* again = elf->symbol_at(fn->value);
    CHECK(same_symbol(again, fn));
    CHECK(again->dynamic);  // listed in .dynsym, kept once with the flag
    CHECK(fn->dynamic);
  }
}

TEST_CASE("ElfFile without symbols still reads sections and notes") {
  auto elf = ElfFile::open(kLib, symbols::ElfOpenOptions{.load_symbols = false});
  REQUIRE(elf);
  CHECK(elf->find_symbol("fx_function_a") == nullptr);
  CHECK(elf->build_id() == readelf_build_id());
  CHECK(elf->has_dwarf());
}

TEST_CASE("ElfFile reads the debuglink of a stripped file and its split debug file") {
  auto stripped = ElfFile::open(kFixtures + "/liblayouts_stripped.so");
  REQUIRE(stripped);
  CHECK(stripped->debuglink() == "liblayouts.debug");
  CHECK_FALSE(stripped->has_dwarf());
  CHECK(stripped->build_id() == readelf_build_id());
  CHECK(stripped->find_symbol("fx_function_a") != nullptr);

  auto debug = ElfFile::open(kFixtures + "/liblayouts.debug");
  REQUIRE(debug);
  CHECK(debug->has_dwarf());
  CHECK(debug->build_id() == readelf_build_id());
  auto text = debug->section(".text");
  REQUIRE(text);
  CHECK(text->type == SHT_NOBITS);
  auto bytes = debug->section_data(".text");
  REQUIRE(bytes);
  CHECK(bytes->empty());
}

TEST_CASE("ElfFile finds the build ID through PT_NOTE without section headers") {
  TempDir dir;
  auto bytes = read_file(kLib);
  REQUIRE(bytes.size() > sizeof(Elf64_Ehdr));
  Elf64_Ehdr eh;
  std::memcpy(&eh, bytes.data(), sizeof eh);
  eh.e_shoff = 0;
  eh.e_shnum = 0;
  eh.e_shstrndx = 0;
  std::memcpy(bytes.data(), &eh, sizeof eh);
  auto elf = ElfFile::open(dir.write("noshdr.so", bytes));
  REQUIRE(elf);
  CHECK(elf->sections().empty());
  CHECK(elf->build_id() == readelf_build_id());
  CHECK_FALSE(elf->load_segments().empty());
  CHECK(elf->find_symbol("fx_function_a") == nullptr);
  CHECK_FALSE(elf->has_dwarf());
}

TEST_CASE("ElfFile reads a non-PIE executable") {
  auto elf = ElfFile::open(kFixtures + "/fx_exec");
  REQUIRE(elf);
  CHECK_FALSE(elf->is_pie_or_shared());
  const auto* fn = elf->find_symbol("fx_exec_function");
  REQUIRE(fn != nullptr);
  CHECK(fn->is_function);
  CHECK(fn->value >= 0x400000);
}

TEST_CASE("ElfFile fails cleanly on files that are not ELF or are truncated") {
  TempDir dir;
  const auto lib = read_file(kLib);
  REQUIRE(lib.size() > 4096);

  std::vector<char> elf32(lib.begin(), lib.begin() + 64);
  elf32[EI_CLASS] = ELFCLASS32;
  std::vector<char> bad_shentsize(lib);
  bad_shentsize[offsetof(Elf64_Ehdr, e_shentsize)] = 12;
  std::vector<char> huge_shnum(lib);
  huge_shnum[offsetof(Elf64_Ehdr, e_shnum)] = '\xff';
  huge_shnum[offsetof(Elf64_Ehdr, e_shnum) + 1] = '\x7f';

  struct Case {
    const char* name;
    std::vector<char> bytes;
    const char* error;  // the message after "<what>: " ... before the path
  };
  const std::array cases = {
      Case{"empty", {}, "not an ELF file (too short): "},
      Case{"short", std::vector<char>(10, 'x'), "not an ELF file (too short): "},
      Case{"text", std::vector<char>(200, 'x'), "not an ELF file: "},
      Case{"elf32", elf32, "not a 64-bit x86-64 ELF file: "},
      Case{"headers_only", std::vector<char>(lib.begin(), lib.begin() + 64), "truncated ELF file "},
      Case{"half", std::vector<char>(lib.begin(), lib.begin() + lib.size() / 2),
           "truncated ELF file "},
      Case{"bad_shentsize", bad_shentsize, "corrupt ELF section header size in "},
      Case{"huge_shnum", huge_shnum, "truncated ELF file "},
  };
  for (const auto& c : cases) {
    SUBCASE(c.name) {
      const auto path = dir.write(c.name, c.bytes);
      auto elf = ElfFile::open(path);
      REQUIRE_FALSE(elf);
      CHECK(elf.error().code == ErrorCode::kDebugInfo);
      CHECK_MESSAGE(elf.error().message.starts_with(c.error), elf.error().message);
      CHECK(elf.error().message.find(path) != std::string::npos);
    }
  }

  SUBCASE("missing file") {
    auto elf = ElfFile::open(dir.path() + "/nope.so");
    REQUIRE_FALSE(elf);
    CHECK(elf.error().code == ErrorCode::kDebugInfo);
    CHECK(elf.error().sys_errno == ENOENT);
    CHECK(elf.error().message ==
          "cannot open " + dir.path() + "/nope.so: No such file or directory");
  }
  SUBCASE("directory") {
    auto elf = ElfFile::open(dir.path());
    REQUIRE_FALSE(elf);
    CHECK(elf.error().message == "not a regular file: " + dir.path());
  }
}

TEST_CASE("ElfFile survives every truncation and random corruption of the fixture") {
  QuietLogs quiet{"elf"};
  TempDir dir;
  const auto lib = read_file(kLib);
  REQUIRE_FALSE(lib.empty());
  int opened = 0;
  for (std::size_t len = 0; len < lib.size(); len += 97) {
    const auto path = dir.write("cut.so", std::vector<char>(lib.begin(), lib.begin() +
                                                                 static_cast<std::ptrdiff_t>(len)));
    if (auto elf = ElfFile::open(path)) {
      ++opened;
      exercise(*elf);
    }
  }
  CHECK(opened == 0);  // the section header table is at the end

  // Flip bytes in the ELF header, the program and section header tables and
  // the symbol/string tables: open may succeed or fail, but never crash.
  std::mt19937 rng(12345);
  const auto sh_off = [&] {
    Elf64_Ehdr eh;
    std::memcpy(&eh, lib.data(), sizeof eh);
    return static_cast<std::size_t>(eh.e_shoff);
  }();
  std::uniform_int_distribution<std::size_t> header_byte(0, 64 + 14 * 56);
  std::uniform_int_distribution<std::size_t> table_byte(sh_off, lib.size() - 1);
  std::uniform_int_distribution<std::size_t> any_byte(0, lib.size() - 1);
  std::uniform_int_distribution<int> value(0, 255);
  for (int round = 0; round < 300; ++round) {
    auto bytes = lib;
    for (int k = 0; k < 4; ++k) {
      const std::size_t at =
          round % 3 == 0 ? header_byte(rng) : (round % 3 == 1 ? table_byte(rng) : any_byte(rng));
      bytes[at] = static_cast<char>(value(rng));
    }
    const auto path = dir.write("fuzz.so", bytes);
    if (auto elf = ElfFile::open(path)) exercise(*elf);
  }
}

namespace {

// Addresses where symbol_at's answer changes: each symbol's first byte, the
// byte before, its last byte and the byte after.
std::vector<std::uint64_t> symbol_edges(const ElfFile& elf) {
  std::vector<std::uint64_t> out;
  for (const char* table : {".dynsym", ".symtab"}) {
    auto bytes = elf.section_data(table);
    if (!bytes) continue;
    for (std::size_t at = 0; at + sizeof(Elf64_Sym) <= bytes->size(); at += sizeof(Elf64_Sym)) {
      Elf64_Sym s;
      std::memcpy(&s, bytes->data() + at, sizeof s);
      for (std::uint64_t a : {s.st_value - 1, s.st_value, s.st_value + s.st_size - 1,
                              s.st_value + s.st_size})
        out.push_back(a);
    }
  }
  return out;
}

}  // namespace

TEST_CASE("symbols_at answers as symbol_at does, in one batch and in small random ones") {
  std::vector<std::string> files = {kLib, kFixtures + "/fx_exec", kFixtures + "/liblayouts.debug",
                                    "/proc/self/exe"};
  // A real C library and its separate debug file, when installed.
  for (const char* lib : {"/lib/x86_64-linux-gnu/libc.so.6"}) {
    auto elf = ElfFile::open(lib);
    if (!elf) continue;
    files.push_back(lib);
    const auto& id = elf->build_id();
    const std::string debug = "/usr/lib/debug/.build-id/" + id.substr(0, 2) + "/" +
                              id.substr(2) + ".debug";
    if (id.size() > 2 && std::filesystem::exists(debug)) files.push_back(debug);
  }
  std::mt19937_64 rng(6);
  for (const auto& path : files) {
    CAPTURE(path);
    auto reference = ElfFile::open(path);
    REQUIRE(reference);
    std::vector<std::uint64_t> addrs = symbol_edges(*reference);
    REQUIRE(addrs.size() > 8);
    for (const auto& seg : reference->load_segments()) {
      std::uniform_int_distribution<std::uint64_t> in_seg(seg.vaddr, seg.vaddr + seg.memsz);
      for (int i = 0; i < 500; ++i) addrs.push_back(in_seg(rng));
    }
    std::vector<const pyattach::symbols::ElfSymbol*> expected;
    for (std::uint64_t a : addrs) expected.push_back(reference->symbol_at(a));

    auto batched = ElfFile::open(path);
    REQUIRE(batched);
    const auto all = batched->symbols_at(addrs);
    REQUIRE(all.size() == addrs.size());
    std::size_t named = 0, mismatches = 0;
    for (std::size_t i = 0; i < addrs.size(); ++i) {
      named += expected[i] != nullptr;
      if (!same_symbol(all[i], expected[i]) && ++mismatches <= 5)
        FAIL_CHECK("address " << std::hex << addrs[i] << ": batch says "
                              << (all[i] ? all[i]->name : "nothing") << ", symbol_at says "
                              << (expected[i] ? expected[i]->name : "nothing"));
    }
    CHECK(mismatches == 0);
    CHECK(named > addrs.size() / 4);  // the test looks at named addresses mostly

    // Sparse batches, as a snapshot's few dozen frame addresses are.
    for (int round = 0; round < 20; ++round) {
      auto fresh = ElfFile::open(path);
      REQUIRE(fresh);
      std::vector<std::uint64_t> some;
      std::vector<std::size_t> which;
      std::uniform_int_distribution<std::size_t> pick(0, addrs.size() - 1);
      for (int i = 0; i < 60; ++i) {
        which.push_back(pick(rng));
        some.push_back(addrs[which.back()]);
      }
      const auto found = fresh->symbols_at(some);
      for (std::size_t i = 0; i < some.size(); ++i) {
        CHECK_MESSAGE(same_symbol(found[i], expected[which[i]]),
                      "address " << std::hex << some[i]);
        // A second lookup of the same address gives the batch's answer.
        CHECK(fresh->symbol_at(some[i]) == found[i]);
      }
    }
  }
}

TEST_CASE("find_symbols answers as find_symbol does, name by name") {
  const std::vector<std::string_view> names = {"fx_function_a", "no_such_symbol", "",
                                               "fx_static_function", "fx_function_a",
                                               "fx_outer_object", "fx_asm_label", "malloc",
                                               "_PyRuntime", "__libc_start_main"};
  for (const std::string& path : {kLib, kFixtures + "/liblayouts.debug",
                                  std::string("/lib/x86_64-linux-gnu/libc.so.6")}) {
    CAPTURE(path);
    auto one_by_one = ElfFile::open(path);
    auto together = ElfFile::open(path);
    if (!one_by_one && path.starts_with("/lib")) continue;  // no such libc here
    REQUIRE(one_by_one);
    REQUIRE(together);
    const auto found = together->find_symbols(names);
    REQUIRE(found.size() == names.size());
    std::size_t named = 0;
    for (std::size_t i = 0; i < names.size(); ++i) {
      CAPTURE(names[i]);
      CHECK(same_symbol(found[i], one_by_one->find_symbol(names[i])));
      CHECK(found[i] == together->find_symbol(names[i]));  // remembered
      named += found[i] != nullptr;
    }
    CHECK(named >= 2);
  }
}
