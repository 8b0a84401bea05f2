#include <doctest/doctest.h>

#include "support/quiet_logs.h"
#include <elf.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "core/log.h"
#include "fixtures/layouts_expect.h"
#include "symbols/dwarf_layouts.h"
#include "symbols/elf_file.h"

using namespace pyattach;
using symbols::DwarfLayouts;

namespace {

const std::string kFixtures = PYATTACH_SYMBOL_FIXTURES_DIR;

const std::vector<std::string> kFixtureTypes = {
    "FxOuter", "fx_outer", "FxAnon", "fx_value", "FxValue", "fx_bits",
    "FxThreadState", "fx_ts", "FxInner", "fx_inner"};

std::string lib_for(int dwarf_version) {
  return kFixtures + "/liblayouts_dwarf" + std::to_string(dwarf_version) + ".so";
}

std::vector<char> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string write_temp(const std::string& name, const std::vector<char>& bytes) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("pyattach_dwarf_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto p = (dir / name).string();
  std::ofstream(p, std::ios::binary)
      .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return p;
}

void remove_temps() {
  std::error_code ec;
  std::filesystem::remove_all(std::filesystem::temp_directory_path() /
                                  ("pyattach_dwarf_test_" + std::to_string(::getpid())),
                              ec);
}

using pyattach::testing::QuietLogs;

}  // namespace

TEST_CASE("DwarfLayouts matches offsetof and sizeof for every DWARF version") {
  for (int version : {2, 4, 5}) {
    SUBCASE(("DWARF " + std::to_string(version)).c_str()) {
      auto layouts = DwarfLayouts::load(lib_for(version), kFixtureTypes);
      REQUIRE_MESSAGE(layouts, (layouts ? std::string() : layouts.error().message));
      for (const auto* row = fx_expected_offsets; row->type != nullptr; ++row) {
        INFO(row->type, ".", row->path);
        CHECK(layouts->offset_of(row->type, row->path) == row->value);
        auto bits = layouts->bit_field_of(row->type, row->path);
        REQUIRE(bits);
        CHECK(bits->bit_size == 0);
        CHECK(bits->bit_offset == row->value * 8);
      }
      for (const auto* row = fx_expected_sizes; row->type != nullptr; ++row) {
        INFO(row->type);
        CHECK(layouts->size_of(row->type) == row->value);
        CHECK(layouts->offset_of(row->type, "") == 0u);
      }
      for (const auto* row = fx_expected_bitfields(); row->type != nullptr; ++row) {
        INFO(row->type, ".", row->path);
        auto bits = layouts->bit_field_of(row->type, row->path);
        REQUIRE(bits);
        CHECK(bits->bit_offset == row->value);
        CHECK(bits->bit_size == row->bit_size);
        CHECK(layouts->offset_of(row->type, row->path) == row->value / 8);
      }
    }
  }
}

TEST_CASE("DwarfLayouts skips declarations and finds the definition in a later unit") {
  // layouts_decl.c, the first unit, declares struct fx_ts without defining it.
  auto layouts = DwarfLayouts::load(lib_for(5), {"FxThreadState"});
  REQUIRE(layouts);
  CHECK(layouts->size_of("FxThreadState") > 8u);
  CHECK(layouts->size_of("FxThreadState") == layouts->size_of("fx_ts"));
  CHECK(layouts->offset_of("fx_ts", "threads.count").has_value());
}

TEST_CASE("DwarfLayouts names the types reached through members") {
  auto layouts = DwarfLayouts::load(lib_for(5), {"FxOuter"});
  REQUIRE(layouts);
  CHECK(layouts->size_of("fx_outer").has_value());  // the tag of the typedef
  CHECK(layouts->size_of("fx_inner").has_value());  // struct fx_inner inner;
  CHECK(layouts->size_of("FxInner").has_value());   // FxCvInner -> FxInner -> fx_inner
  CHECK(layouts->size_of("FxCvInner") == layouts->size_of("fx_inner"));
  CHECK(layouts->size_of("fx_value").has_value());
  CHECK_FALSE(layouts->size_of("fx_ts").has_value());  // not reachable, not wanted
}

TEST_CASE("DwarfLayouts rejects paths it cannot follow") {
  auto layouts = DwarfLayouts::load(lib_for(5), kFixtureTypes);
  REQUIRE(layouts);
  const std::array<std::pair<const char*, const char*>, 11> bad = {{
      {"FxOuter", "ptr.value"},    // through a pointer
      {"FxOuter", "array.value"},  // through an array
      {"FxOuter", "head.x"},       // through an int
      {"FxOuter", "nonexistent"},
      {"FxOuter", "inner..value"},
      {"FxOuter", "inner."},
      {"FxOuter", ".inner"},
      {"FxOuter", "deep.y"},  // `deep` is a named member of `named`, not anonymous
      {"NoSuchType", "head"},
      {"NoSuchType", ""},
      {"", ""},
  }};
  for (const auto& [type, path] : bad) {
    INFO(type, " / ", path);
    CHECK_FALSE(layouts->offset_of(type, path).has_value());
    CHECK_FALSE(layouts->bit_field_of(type, path).has_value());
  }
  CHECK_FALSE(layouts->size_of("NoSuchType").has_value());
}

TEST_CASE("DwarfLayouts: names that are not structs, or not there at all") {
  auto some = DwarfLayouts::load(lib_for(5), {"FxOuter", "int", "long", "NoSuchType", ""});
  REQUIRE(some);
  CHECK(some->size_of("FxOuter").has_value());
  CHECK_FALSE(some->size_of("int").has_value());
  CHECK_FALSE(some->size_of("NoSuchType").has_value());

  auto none = DwarfLayouts::load(lib_for(5), {"NoSuchType", "int"});
  REQUIRE_FALSE(none);
  CHECK(none.error().code == ErrorCode::kDebugInfo);
  CHECK(none.error().message ==
        "none of the wanted types is defined in the DWARF of " + lib_for(5));
}

TEST_CASE("DwarfLayouts reads a split debug file and refuses a stripped one") {
  auto debug = DwarfLayouts::load(kFixtures + "/liblayouts.debug", kFixtureTypes);
  REQUIRE(debug);
  CHECK(debug->offset_of("FxOuter", "named.deep.y").has_value());

  const std::string stripped = kFixtures + "/liblayouts_stripped.so";
  auto none = DwarfLayouts::load(stripped, kFixtureTypes);
  REQUIRE_FALSE(none);
  CHECK(none.error().code == ErrorCode::kDebugInfo);
  CHECK(none.error().message == "no DWARF debug info in " + stripped);
  CHECK_FALSE(none.error().hint.empty());

  auto missing = DwarfLayouts::load(kFixtures + "/no_such_file.so", kFixtureTypes);
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code == ErrorCode::kDebugInfo);
}

TEST_CASE("DwarfLayouts reads object files and compressed sections") {
  // Neither goes through our mapping: libdwarf relocates and inflates them.
  for (const char* name : {"/layouts.o", "/liblayouts_gz.so"}) {
    SUBCASE(name) {
      const std::string path = kFixtures + name;
      auto elf = symbols::ElfFile::open(path);
      REQUIRE(elf);
      auto info = elf->section(".debug_info");
      REQUIRE(info);
      CHECK((elf->is_relocatable() || (info->flags & SHF_COMPRESSED) != 0));
      auto layouts = DwarfLayouts::load(path, kFixtureTypes);
      REQUIRE(layouts);
      for (const auto* row = fx_expected_offsets; row->type != nullptr; ++row) {
        INFO(row->type, ".", row->path);
        CHECK(layouts->offset_of(row->type, row->path) == row->value);
      }
    }
  }
}

TEST_CASE("DwarfLayouts alternates libdwarf's own reader and our mapped reader") {
  // libdwarf 20210528 left global state behind after its own reader that
  // crashed the next custom-reader init (see dwarf_layouts.cpp).
  for (const char* name : {"/layouts.o", "/liblayouts_dwarf5.so", "/liblayouts_gz.so",
                           "/liblayouts_dwarf4.so", "/layouts.o", "/liblayouts.debug"}) {
    INFO(name);
    auto layouts = DwarfLayouts::load(kFixtures + name, kFixtureTypes);
    REQUIRE(layouts);
    CHECK(layouts->offset_of("FxOuter", "named.deep.y").has_value());
  }
}

TEST_CASE("DwarfLayouts fails cleanly on truncated or corrupt DWARF") {
  QuietLogs quiet{"elf", "dwarf"};
  const auto lib = read_file(lib_for(5));
  REQUIRE_FALSE(lib.empty());

  for (std::size_t len : {std::size_t{0}, std::size_t{100}, lib.size() / 2, lib.size() - 1}) {
    const auto path = write_temp("cut.so", std::vector<char>(lib.begin(), lib.begin() +
                                                                   static_cast<std::ptrdiff_t>(len)));
    auto layouts = DwarfLayouts::load(path, kFixtureTypes);
    CHECK_FALSE(layouts);
    if (!layouts) CHECK(layouts.error().code == ErrorCode::kDebugInfo);
  }

  // Damage .debug_info and .debug_abbrev in place: whatever libdwarf makes
  // of it, load returns (a result or an error) and queries stay safe.
  auto elf = symbols::ElfFile::open(lib_for(5));
  REQUIRE(elf);
  std::mt19937 rng(777);
  for (const char* name : {".debug_info", ".debug_abbrev", ".debug_str"}) {
    auto sec = elf->section(name);
    REQUIRE(sec);
    std::uniform_int_distribution<std::uint64_t> at(sec->offset, sec->offset + sec->size - 1);
    std::uniform_int_distribution<int> value(0, 255);
    for (int round = 0; round < 40; ++round) {
      auto bytes = lib;
      for (int k = 0; k < 1 + round % 5; ++k) bytes[at(rng)] = static_cast<char>(value(rng));
      const auto path = write_temp("fuzz.so", bytes);
      if (auto layouts = DwarfLayouts::load(path, kFixtureTypes)) {
        (void)layouts->offset_of("FxOuter", "named.deep.y");
        (void)layouts->bit_field_of("fx_bits", "kind");
        (void)layouts->size_of("FxThreadState");
      }
    }
    // All-zero section.
    auto bytes = lib;
    std::memset(bytes.data() + sec->offset, 0, sec->size);
    const auto path = write_temp("zero.so", bytes);
    (void)DwarfLayouts::load(path, kFixtureTypes);
  }
  remove_temps();
}

// --- The pyenv builds of CPython, when installed ---------------------------

namespace {

struct PyExpect {
  int minor;
  const char* type;
  const char* path;    // "" for sizeof
  std::uint64_t value;
};

// Recorded with gdb 13 on the pyenv builds (3.8.18 3.9.18 3.10.13 3.11.7
// 3.12.1 3.13.0), e.g.
//   gdb -batch -ex 'p (long)&((_PyRuntimeState*)0)->interpreters.head' LIB
//   gdb -batch -ex 'ptype /o PyASCIIObject' LIB
constexpr PyExpect kPyExpected[] = {
    {8, "PyThreadState", "interp", 16},
    {8, "_PyRuntimeState", "interpreters.head", 32},
    {8, "PyCodeObject", "co_filename", 104},
    {8, "PyThreadState", "", 264},
    {8, "PyCodeObject", "", 176},
    {8, "_PyRuntimeState", "", 1464},
    {8, "PyInterpreterState", "tstate_head", 8},
    {8, "PyThreadState", "frame", 24},
    {8, "PyTypeObject", "tp_flags", 168},
    {8, "PyASCIIObject", "", 48},

    {9, "PyThreadState", "interp", 16},
    {9, "_PyRuntimeState", "interpreters.head", 32},
    {9, "PyCodeObject", "co_filename", 104},
    {9, "PyThreadState", "", 264},
    {9, "PyCodeObject", "", 176},
    {9, "_PyRuntimeState", "", 656},
    {9, "PyInterpreterState", "tstate_head", 8},
    {9, "PyThreadState", "frame", 24},

    {10, "PyThreadState", "interp", 16},
    {10, "_PyRuntimeState", "interpreters.head", 32},
    {10, "PyCodeObject", "co_filename", 104},
    {10, "PyThreadState", "", 280},
    {10, "PyCodeObject", "", 176},
    {10, "_PyRuntimeState", "", 672},
    {10, "PyInterpreterState", "tstate_head", 8},
    {10, "PyThreadState", "frame", 24},
    {10, "PyThreadState", "cframe", 48},

    {11, "PyThreadState", "interp", 16},
    {11, "_PyRuntimeState", "interpreters.head", 40},
    {11, "PyCodeObject", "co_filename", 112},
    {11, "PyThreadState", "", 360},
    {11, "PyCodeObject", "", 192},
    {11, "_PyRuntimeState", "", 166688},
    {11, "PyInterpreterState", "threads.head", 16},
    {11, "PyThreadState", "cframe", 56},
    {11, "_PyCFrame", "current_frame", 8},
    {11, "_PyInterpreterFrame", "previous", 48},
    {11, "_PyInterpreterFrame", "f_code", 32},
    {11, "_PyInterpreterFrame", "", 80},

    {12, "PyThreadState", "interp", 16},
    {12, "_PyRuntimeState", "interpreters.head", 40},
    {12, "PyCodeObject", "co_filename", 112},
    {12, "PyThreadState", "", 288},
    {12, "PyCodeObject", "", 200},
    {12, "_PyRuntimeState", "", 459944},
    {12, "PyInterpreterState", "threads.head", 72},
    {12, "PyThreadState", "cframe", 56},
    {12, "_PyCFrame", "current_frame", 0},
    {12, "_PyInterpreterFrame", "previous", 8},
    {12, "_PyInterpreterFrame", "f_code", 0},
    {12, "PyASCIIObject", "", 40},

    {13, "PyThreadState", "interp", 16},
    {13, "_PyRuntimeState", "interpreters.head", 632},
    {13, "PyCodeObject", "co_filename", 112},
    {13, "PyThreadState", "", 304},
    {13, "PyCodeObject", "", 208},
    {13, "_PyRuntimeState", "", 283320},
    {13, "PyInterpreterState", "threads.head", 7344},
    {13, "PyThreadState", "current_frame", 72},
    {13, "_PyInterpreterFrame", "previous", 8},
    {13, "_PyInterpreterFrame", "f_executable", 0},
    {13, "PyASCIIObject", "", 40},
};

// What the CPython model asks for, for every version at once.
const std::vector<std::string> kCPythonTypes = {
    "_PyRuntimeState", "PyInterpreterState", "PyThreadState", "_PyCFrame", "CFrame",
    "_PyInterpreterFrame", "PyFrameObject", "PyCodeObject", "PyASCIIObject",
    "PyCompactUnicodeObject", "PyUnicodeObject", "PyBytesObject", "PyObject",
    "PyVarObject", "PyTypeObject", "PyCFunctionObject", "PyMethodDef", "PyTupleObject",
    "PyGenObject", "PyLongObject", "PyDictObject", "PyListObject"};

std::string find_pyenv_libpython(int minor) {
  std::filesystem::path root;
  if (const char* env = std::getenv("PYENV_ROOT"); env != nullptr && *env != '\0')
    root = env;
  else if (const char* home = std::getenv("HOME"); home != nullptr)
    root = std::filesystem::path(home) / ".pyenv";
  const std::string prefix = "3." + std::to_string(minor) + ".";
  const std::string lib = "lib/libpython3." + std::to_string(minor) + ".so.1.0";
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(root / "versions", ec)) {
    const auto name = entry.path().filename().string();
    if (name.starts_with(prefix) && std::filesystem::exists(entry.path() / lib))
      return (entry.path() / lib).string();
  }
  return {};
}

}  // namespace

TEST_CASE("DwarfLayouts agrees with gdb on the pyenv libpythons") {
  for (int minor = 8; minor <= 13; ++minor) {
    SUBCASE(("3." + std::to_string(minor)).c_str()) {
      const std::string lib = find_pyenv_libpython(minor);
      if (lib.empty()) {
        MESSAGE("SKIPPED: no $(pyenv root)/versions/3." << minor
                << ".*/lib/libpython3." << minor << ".so.1.0");
        return;
      }
      auto layouts = DwarfLayouts::load(lib, kCPythonTypes);
      REQUIRE_MESSAGE(layouts, (layouts ? std::string() : layouts.error().message));
      for (const auto& e : kPyExpected) {
        if (e.minor != minor) continue;
        INFO(lib, ": ", e.type, ".", e.path);
        if (*e.path == '\0')
          CHECK(layouts->size_of(e.type) == e.value);
        else
          CHECK(layouts->offset_of(e.type, e.path) == e.value);
      }
      // Both names of the typedef'd structs.
      CHECK(layouts->size_of("_ts") == layouts->size_of("PyThreadState"));
      CHECK(layouts->size_of("_is") == layouts->size_of("PyInterpreterState"));
      CHECK(layouts->size_of("_typeobject") == layouts->size_of("PyTypeObject"));
      CHECK(layouts->size_of("PyObject") == 16u);
      CHECK(layouts->offset_of("PyObject", "ob_type") == 8u);
      CHECK(layouts->offset_of("PyVarObject", "ob_size") == 16u);
      CHECK(layouts->offset_of("PyTypeObject", "tp_name") == 24u);
      auto kind = layouts->bit_field_of("PyASCIIObject", "state.kind");
      REQUIRE(kind);
      CHECK(kind->bit_offset == 32 * 8 + 2);
      CHECK(kind->bit_size == 3);
      CHECK(layouts->size_of("CFrame").has_value() == (minor == 10));
      CHECK(layouts->size_of("_PyCFrame").has_value() == (minor == 11 || minor == 12));
      CHECK(layouts->size_of("_PyInterpreterFrame").has_value() == (minor >= 11));
    }
  }
}

TEST_CASE("DwarfLayouts unit hints: the hinted unit is found, and a wrong hint only costs time") {
  const auto expected = DwarfLayouts::load(lib_for(5), {"FxOuter"})->size_of("FxOuter");
  REQUIRE(expected.has_value());
  for (const char* unit : {"layouts.c", "layouts_decl.c", "no_such_unit.c"}) {
    INFO(unit);
    auto layouts = DwarfLayouts::load(lib_for(5), {"FxOuter"}, {{"FxOuter", unit}});
    REQUIRE(layouts);
    CHECK(layouts->size_of("FxOuter") == expected);
  }
}
