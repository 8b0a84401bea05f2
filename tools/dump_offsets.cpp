// pyattach-dump-offsets FILE VERSION [NAME]: reads the DWARF of a libpython or
// python executable (or of its separate debug file) and prints the Offsets
// that pyattach derives from it as a table of the built-in offsets
// (src/cpython/offsets_table.inc). Used by scripts/gen_offsets_table.py.
#include <cstdio>
#include <string>

#include <fmt/format.h>

#include "core/log.h"
#include "cpython/offsets.h"
#include "symbols/debug_files.h"
#include "symbols/dwarf_layouts.h"
#include "symbols/elf_file.h"

using namespace pyattach;

namespace {

int usage() {
  std::fputs("usage: pyattach-dump-offsets FILE MAJOR.MINOR.MICRO [ARRAY_NAME]\n", stderr);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3 || argc > 4) return usage();
  std::string path = argv[1];
  auto version = cpython::PythonVersion::parse(argv[2]);
  if (!version) return usage();
  std::string array = argc == 4 ? argv[3] : "kFields";
  log::configure(0);

  auto wanted = cpython::TypeLayoutOffsetsSource::wanted_types(*version);
  std::string dwarf_path = path;
  auto layouts =
      symbols::DwarfLayouts::load(path, wanted, cpython::TypeLayoutOffsetsSource::unit_hints());
  if (!layouts) {
    auto elf = symbols::ElfFile::open(path);
    if (!elf) {
      fmt::print(stderr, "pyattach-dump-offsets: {}\n", elf.error().message);
      return 1;
    }
    auto debug = symbols::find_debug_file(*elf, path, [](const std::string& p) { return p; });
    if (!debug) {
      fmt::print(stderr, "pyattach-dump-offsets: {}: {}; no separate debug file found\n", path,
                 layouts.error().message);
      return 1;
    }
    dwarf_path = *debug;
    layouts = symbols::DwarfLayouts::load(dwarf_path, wanted,
                                          cpython::TypeLayoutOffsetsSource::unit_hints());
    if (!layouts) {
      fmt::print(stderr, "pyattach-dump-offsets: {}: {}\n", dwarf_path, layouts.error().message);
      return 1;
    }
  }
  auto offsets = cpython::TypeLayoutOffsetsSource(*layouts).load(*version);
  if (!offsets) {
    fmt::print(stderr, "pyattach-dump-offsets: {}\n", offsets.error().message);
    return 1;
  }
  fmt::print("// CPython {}, from the DWARF of {}\n", version->to_string(), dwarf_path);
  fmt::print("constexpr OffsetsTableField {}[] = {{\n", array);
  cpython::for_each_field(*offsets, [](std::string_view name, const auto& value) {
    fmt::print("    {{\"{}\", {}}},\n", name,
               cpython::format_field_value(static_cast<std::uint64_t>(value)));
  });
  fmt::print("}};\n");
  return 0;
}
