// The Offsets field list, the built-in offsets table against the DWARF of the
// installed interpreters, TableOffsetsSource's version selection, and
// DebugOffsetsSource on fake _PyRuntime images.
#include <doctest/doctest.h>
#include <elf.h>

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "cpython/debug_offsets.h"
#include "cpython/offsets.h"
#include "cpython/offsets_table.h"
#include "support/debug_offsets_image.h"
#include "support/fake_memory.h"
#include "symbols/debug_files.h"
#include "symbols/dwarf_layouts.h"
#include "symbols/elf_file.h"

using namespace pyattach;
using namespace pyattach::cpython;
using pyattach::testing::header_from;

namespace {

std::filesystem::path pyenv_versions() {
  std::filesystem::path root;
  if (const char* env = std::getenv("PYENV_ROOT"); env != nullptr && *env != '\0')
    root = env;
  else if (const char* home = std::getenv("HOME"); home != nullptr)
    root = std::filesystem::path(home) / ".pyenv";
  return root / "versions";
}

// The offsets DWARF gives for `path` (or its separate debug file).
std::optional<Offsets> dwarf_offsets(const std::string& path, const PythonVersion& version) {
  const auto wanted = TypeLayoutOffsetsSource::wanted_types(version);
  auto layouts = symbols::DwarfLayouts::load(path, wanted);
  if (!layouts) {
    auto elf = symbols::ElfFile::open(path);
    if (!elf) return std::nullopt;
    auto debug = symbols::find_debug_file(*elf, path, [](const std::string& p) { return p; });
    if (!debug) return std::nullopt;
    layouts = symbols::DwarfLayouts::load(*debug, wanted);
    if (!layouts) return std::nullopt;
  }
  auto offsets = TypeLayoutOffsetsSource(*layouts).load(version);
  REQUIRE_MESSAGE(offsets.has_value(), path << ": " << offsets.error().message);
  return *offsets;
}

// Loud on stderr as well: doctest shows MESSAGE only for failing tests.
void missing(const std::string& text) {
  std::fprintf(stderr, "MISSING: %s\n", text.c_str());
  MESSAGE("MISSING: " << text);
}

void check_table_matches(const Offsets& from_dwarf, const std::string& what) {
  bool exact = false;
  const OffsetsTableEntry* entry =
      find_offsets_entry(builtin_offsets_table(), from_dwarf.version, exact);
  REQUIRE_MESSAGE(entry != nullptr, "the built-in table has no entry for " << what);
  CHECK_MESSAGE(exact, "the built-in table has no entry made from " << what
                                                                    << " (regenerate it)");
  auto from_table = offsets_from_entry(*entry, from_dwarf.version);
  REQUIRE_MESSAGE(from_table.has_value(), from_table.error().message);
  for (const auto& d : compare_offsets(from_dwarf, *from_table))
    FAIL_CHECK(what << ": field " << d.field << " is " << format_field_value(d.left)
                    << " in DWARF but " << format_field_value(d.right) << " in the table");
}

}  // namespace

TEST_CASE("for_each_field visits every field of Offsets once") {
  std::size_t u64 = 0, ints = 0;
  std::vector<std::string> names;
  Offsets o;
  for_each_field(o, [&](std::string_view name, auto& field) {
    if constexpr (std::is_same_v<std::remove_reference_t<decltype(field)>, int>)
      ++ints;
    else
      ++u64;
    names.emplace_back(name);
  });
  // UnicodeLayout holds five offsets and three int bit positions.
  CHECK(ints == 3);
  CHECK(sizeof(UnicodeLayout) == 5 * 8 + 3 * 4 + 4);
  CHECK(sizeof(Offsets) == offsetof(Offsets, runtime) + (u64 - 5) * 8 + sizeof(UnicodeLayout));
  std::sort(names.begin(), names.end());
  CHECK(std::adjacent_find(names.begin(), names.end()) == names.end());

  Offsets a, b;
  b.dict.ma_keys = 32;
  b.unicode.kind_shift = 3;
  auto diffs = compare_offsets(a, b);
  REQUIRE(diffs.size() == 2);
  CHECK(diffs[0].field == "unicode.kind_shift");
  CHECK(diffs[1].field == "dict.ma_keys");
  CHECK(diffs[1].left == kAbsent);
  CHECK(diffs[1].right == 32);
}

TEST_CASE("the built-in table covers 3.8-3.13 and converts") {
  for (int minor = 8; minor <= 13; ++minor) {
    CAPTURE(minor);
    bool exact = false;
    const auto* entry = find_offsets_entry(builtin_offsets_table(), {3, minor, 0}, exact);
    REQUIRE(entry != nullptr);
  }
  for (const auto& entry : builtin_offsets_table()) {
    CAPTURE(entry.origin);
    auto o = offsets_from_entry(entry, {entry.major, entry.minor, entry.micros.front()});
    CHECK_MESSAGE(o.has_value(), o.error().message);
  }
}

TEST_CASE("the built-in table equals DWARF for every installed interpreter") {
  const std::regex pattern(R"(3\.(\d+)\.(\d+))");
  for (int minor = 8; minor <= 13; ++minor) {
    bool found = false;
    std::error_code ec;
    for (const auto& dir : std::filesystem::directory_iterator(pyenv_versions(), ec)) {
      std::smatch m;
      const std::string name = dir.path().filename().string();
      if (!std::regex_match(name, m, pattern) || std::stoi(m[1]) != minor) continue;
      const auto lib = dir.path() / "lib" / ("libpython3." + std::to_string(minor) + ".so.1.0");
      if (!std::filesystem::exists(lib)) continue;
      found = true;
      const PythonVersion version{3, minor, std::stoi(m[2])};
      auto offsets = dwarf_offsets(lib.string(), version);
      REQUIRE_MESSAGE(offsets.has_value(), lib.string() << ": no DWARF");
      check_table_matches(*offsets, "pyenv " + name);
    }
    if (!found)
      missing("no pyenv CPython 3." + std::to_string(minor) + " under " +
              pyenv_versions().string() + "; its table entry is not checked against DWARF");
  }
}

// Debian's stripped python3.11 with the DWARF of python3.11-dbg (found by
// build ID), and python3.11d, the --with-pydebug build from that package,
// whose layout pyattach reads with the same table.
TEST_CASE("the built-in table equals DWARF for Debian's python3.11 and python3.11d") {
  for (const std::string exe : {"/usr/bin/python3.11", "/usr/bin/python3.11d"}) {
    CAPTURE(exe);
    if (!std::filesystem::exists(exe)) {
      missing("no " + exe + " (apt-get install python3.11 python3.11-dbg)");
      continue;
    }
    std::string text;
    const std::string command = exe + " -c 'import platform; print(platform.python_version())'";
    if (FILE* p = ::popen(command.c_str(), "r")) {
      char buf[64] = {};
      if (std::fgets(buf, sizeof buf, p)) text = buf;
      ::pclose(p);
    }
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    auto version = PythonVersion::parse(text);
    REQUIRE_MESSAGE(version.has_value(), "cannot tell the version of " << exe);
    auto offsets = dwarf_offsets(exe, *version);
    if (!offsets) {
      missing("no debug info for " + exe + " (apt-get install python3.11-dbg)");
      continue;
    }
    check_table_matches(*offsets, exe + " " + text);
  }
}

namespace {

// A two-entry table for 3.11: micros 2 and 7, told apart by dict.ma_keys.
struct SelectionTable {
  std::vector<OffsetsTableField> fields_a, fields_b;
  static constexpr int kMicrosA[] = {2};
  static constexpr int kMicrosB[] = {7};
  std::vector<OffsetsTableEntry> entries;

  SelectionTable() {
    Offsets o;
    for_each_field(o, [&](std::string_view name, const auto& v) {
      fields_a.push_back({name, static_cast<std::uint64_t>(v)});
    });
    fields_b = fields_a;
    for (auto& f : fields_a)
      if (f.name == "dict.ma_keys") f.value = 100;
    for (auto& f : fields_b)
      if (f.name == "dict.ma_keys") f.value = 200;
    entries.push_back({3, 11, kMicrosA, "a", fields_a});
    entries.push_back({3, 11, kMicrosB, "b", fields_b});
  }
};

}  // namespace

TEST_CASE("TableOffsetsSource picks the patch release, else the nearest of the minor") {
  SelectionTable t;
  TableOffsetsSource source(t.entries);
  CHECK(source.name() == "table");
  struct Case {
    int minor, micro;
    std::uint64_t ma_keys;
  };
  for (const Case& c : {Case{11, 2, 100}, Case{11, 7, 200}, Case{11, 0, 100},
                        Case{11, 4, 100}, Case{11, 5, 200}, Case{11, 20, 200}}) {
    CAPTURE(c.micro);
    auto o = source.load({3, c.minor, c.micro});
    REQUIRE(o.has_value());
    CHECK(o->dict.ma_keys == c.ma_keys);
    CHECK(o->version.micro == c.micro);
  }
  bool exact = true;
  CHECK(find_offsets_entry(t.entries, {3, 11, 4}, exact) == &t.entries[0]);
  CHECK_FALSE(exact);
  CHECK(find_offsets_entry(t.entries, {3, 11, 7}, exact) == &t.entries[1]);
  CHECK(exact);

  auto other_minor = source.load({3, 12, 1});
  REQUIRE_FALSE(other_minor.has_value());
  CHECK(other_minor.error().code == ErrorCode::kDebugInfo);
  auto too_old = source.load({3, 7, 16});
  REQUIRE_FALSE(too_old.has_value());
  CHECK(too_old.error().code == ErrorCode::kUnsupportedVersion);

  // An entry lacking a field is a stale table, not silently kAbsent.
  t.fields_a.pop_back();
  t.entries[0].fields = t.fields_a;
  auto stale = source.load({3, 11, 2});
  REQUIRE_FALSE(stale.has_value());
  CHECK(stale.error().code == ErrorCode::kInternal);
}

namespace {

constexpr std::uint64_t kRuntime = 0x7f0000001000;

Offsets table_313() {
  auto o = TableOffsetsSource().load({3, 13, 0});
  REQUIRE(o.has_value());
  return *o;
}

Result<Offsets> load_image(const py313::DebugOffsets& h, PythonVersion version = {3, 13, 0}) {
  static testing::FakeMemory memory;
  memory = testing::FakeMemory();
  memory.add_region(kRuntime, sizeof h + 64);
  memory.write_value(kRuntime, h);
  TableOffsetsSource table;
  return DebugOffsetsSource(memory, RemoteAddr(kRuntime), table).load(version);
}

}  // namespace

TEST_CASE("DebugOffsetsSource on a valid header") {
  const Offsets table = table_313();
  auto h = header_from(table);
  auto o = load_image(h);
  REQUIRE_MESSAGE(o.has_value(), o.error().message);
  CHECK(compare_offsets(table, *o).empty());

  // The header wins over the table where they differ (logged).
  h.thread_state.native_thread_id = table.tstate.native_thread_id + 8;
  h.dict_object.ma_values = 8;
  auto moved = load_image(h);
  REQUIRE(moved.has_value());
  auto diffs = compare_offsets(table, *moved);
  REQUIRE(diffs.size() == 2);
  CHECK(diffs[0].field == "tstate.native_thread_id");
  CHECK(moved->tstate.native_thread_id == table.tstate.native_thread_id + 8);
  CHECK(moved->dict.ma_values == 8);
  // What the header does not cover comes from the table.
  CHECK(moved->type_slots.tp_dictoffset == table.type_slots.tp_dictoffset);
  CHECK(moved->dict_keys.dk_indices == table.dict_keys.dk_indices);
}

TEST_CASE("DebugOffsetsSource rejects corrupt headers") {
  const auto good = header_from(table_313());
  struct Case {
    const char* what;
    void (*corrupt)(py313::DebugOffsets&);
    ErrorCode code;
    const char* message_part;
  };
  const Case cases[] = {
      {"cookie", [](py313::DebugOffsets& h) { h.cookie[7] = 'x'; }, ErrorCode::kCorruptData,
       "cookie"},
      {"zeroed", [](py313::DebugOffsets& h) { h = py313::DebugOffsets{}; },
       ErrorCode::kCorruptData, "cookie"},
      {"version 3.12", [](py313::DebugOffsets& h) { h.version = 0x030C01F0; },
       ErrorCode::kCorruptData, "version"},
      {"version high bits", [](py313::DebugOffsets& h) { h.version |= 1ULL << 40; },
       ErrorCode::kCorruptData, "version"},
      {"free-threaded", [](py313::DebugOffsets& h) { h.free_threaded = 1; },
       ErrorCode::kUnsupportedVersion, "free-threaded"},
      {"offset past size",
       [](py313::DebugOffsets& h) { h.thread_state.current_frame = h.thread_state.size; },
       ErrorCode::kCorruptData, "thread_state.current_frame"},
      {"huge offset", [](py313::DebugOffsets& h) { h.code_object.filename = ~0ULL; },
       ErrorCode::kCorruptData, "code_object.filename"},
      {"zero size", [](py313::DebugOffsets& h) { h.pyobject.size = 0; },
       ErrorCode::kCorruptData, "pyobject.size"},
      {"huge size", [](py313::DebugOffsets& h) { h.runtime_state.size = 1ULL << 40; },
       ErrorCode::kCorruptData, "runtime_state.size"},
      {"GIL field before the GIL",
       [](py313::DebugOffsets& h) { h.interpreter_state.gil_runtime_state_locked = 8; },
       ErrorCode::kCorruptData, "GIL field"},
      {"GIL field far after the GIL",
       [](py313::DebugOffsets& h) { h.interpreter_state.gil_runtime_state_holder = 90000; },
       ErrorCode::kCorruptData, "GIL field"},
      {"ascii size",
       [](py313::DebugOffsets& h) { h.unicode_object.asciiobject_size = 4096; },
       ErrorCode::kCorruptData, "asciiobject_size"},
  };
  for (const auto& c : cases) {
    CAPTURE(std::string(c.what));
    auto h = good;
    c.corrupt(h);
    auto o = load_image(h);
    REQUIRE_FALSE(o.has_value());
    CHECK(o.error().code == c.code);
    CHECK_MESSAGE(o.error().message.find(c.message_part) != std::string::npos,
                  o.error().message);
  }

  SUBCASE("unreadable") {
    testing::FakeMemory memory;
    memory.add_region(kRuntime, 16);  // shorter than the header
    TableOffsetsSource table;
    auto o = DebugOffsetsSource(memory, RemoteAddr(kRuntime), table).load({3, 13, 0});
    REQUIRE_FALSE(o.has_value());
    CHECK(o.error().code == ErrorCode::kBadRemoteAddress);
  }
  SUBCASE("before 3.13") {
    auto o = load_image(good, {3, 12, 1});
    REQUIRE_FALSE(o.has_value());
    CHECK(o.error().code == ErrorCode::kUnsupportedVersion);
  }
  SUBCASE("target says another minor") {
    auto h = good;
    h.version = 0x030E00F0;
    auto o = load_image(h);
    REQUIRE_FALSE(o.has_value());
    CHECK(o.error().code == ErrorCode::kCorruptData);
  }
}

TEST_CASE("DebugOffsetsSource on the _Py_DebugOffsets of the installed 3.13 builds") {
  const std::regex pattern(R"(3\.13\.(\d+))");
  bool found = false;
  std::error_code ec;
  for (const auto& dir : std::filesystem::directory_iterator(pyenv_versions(), ec)) {
    std::smatch m;
    const std::string name = dir.path().filename().string();
    if (!std::regex_match(name, m, pattern)) continue;
    const auto lib = dir.path() / "lib" / "libpython3.13.so.1.0";
    auto elf = symbols::ElfFile::open(lib.string());
    if (!elf) continue;
    found = true;
    CAPTURE(lib.string());
    // _PyRuntime's static initializer, as the file holds it before startup:
    // the header is constant from then on.
    const symbols::ElfSymbol* runtime = elf->find_symbol("_PyRuntime");
    REQUIRE(runtime != nullptr);
    std::optional<symbols::ElfSection> data;
    for (const auto& section : elf->sections())
      if (section.type == SHT_PROGBITS && (section.flags & SHF_ALLOC) != 0 &&
          section.addr <= runtime->value &&
          runtime->value - section.addr + sizeof(py313::DebugOffsets) <= section.size)
        data = section;
    REQUIRE(data.has_value());
    auto bytes = elf->read_bytes(data->offset + (runtime->value - data->addr),
                                 sizeof(py313::DebugOffsets));
    REQUIRE(bytes.has_value());
    testing::FakeMemory memory;
    memory.add_region(kRuntime, bytes->size());
    memory.write(kRuntime, bytes->data(), bytes->size());
    const PythonVersion version{3, 13, std::stoi(m[1])};
    TableOffsetsSource table;
    auto o = DebugOffsetsSource(memory, RemoteAddr(kRuntime), table).load(version);
    REQUIRE_MESSAGE(o.has_value(), o.error().message);
    auto from_table = table.load(version);
    REQUIRE(from_table.has_value());
    for (const auto& d : compare_offsets(*from_table, *o))
      FAIL_CHECK("field " << d.field << " is " << format_field_value(d.right)
                          << " in _Py_DebugOffsets but " << format_field_value(d.left)
                          << " in the table");
  }
  if (!found) missing("no pyenv CPython 3.13 under " + pyenv_versions().string());
}
