// Finding _PyRuntime: the .PyRuntime section, the symbol, the _Py_DebugOffsets
// scan, and choosing among several runtimes, on fake module views and memory.
#include <doctest/doctest.h>

#include <cstring>
#include <vector>

#include "cpython/offsets_table.h"
#include "cpython/runtime_locator.h"
#include "support/debug_offsets_image.h"
#include "support/fake_memory.h"
#include "support/quiet_logs.h"

using namespace pyattach;
using namespace pyattach::cpython;
using testing::FakeMemory;

namespace {

constexpr std::uint64_t kPieBias = 0x7f1200000000;
constexpr std::uint64_t kPage = 4096;

py313::DebugOffsets valid_header() {
  auto table = TableOffsetsSource().load({3, 13, 0});
  REQUIRE(table.has_value());
  return testing::header_from(*table);
}

ModuleImage module(std::string path, std::uint64_t bias = 0) {
  ModuleImage m;
  m.path = std::move(path);
  m.bias = bias;
  return m;
}

}  // namespace

TEST_CASE("the .PyRuntime section gives _PyRuntime, PIE or not") {
  FakeMemory memory;
  std::vector<ModuleImage> modules{module("/usr/lib/libc.so.6", 0x7f0000000000),
                                   module("/opt/py/lib/libpython3.12.so.1.0", kPieBias)};
  modules[1].pyruntime_section = AddressRange{0x643340, 0x704a8};
  modules[1].runtime_symbol = 0x643340;
  modules[1].runtime_symbol_dynamic = true;
  auto found = find_runtime_candidates(modules, memory);
  REQUIRE(found.size() == 1);
  CHECK(found[0].module == 1);
  CHECK(found[0].address.as_int() == kPieBias + 0x643340);
  CHECK(found[0].found_by == RuntimeFoundBy::kPyRuntimeSection);
  CHECK_FALSE(found[0].header_version.has_value());
  CHECK(memory.reads() == 0);  // no scan when the ELF says where

  // Non-PIE executable with libpython linked in (bias 0), no symbol at all.
  std::vector<ModuleImage> exec{module("/usr/bin/python3.11")};
  exec[0].pyruntime_section = AddressRange{0x8d1a40, 0x28b20};
  found = find_runtime_candidates(exec, memory);
  REQUIRE(found.size() == 1);
  CHECK(found[0].address.as_int() == 0x8d1a40);

  // A symbol that disagrees with the section loses (and is logged).
  testing::QuietLogs quiet({"cpython"});
  exec[0].runtime_symbol = 0x8d1000;
  found = find_runtime_candidates(exec, memory);
  REQUIRE(found.size() == 1);
  CHECK(found[0].address.as_int() == 0x8d1a40);
}

TEST_CASE("the _PyRuntime symbol, from .dynsym or .symtab, when there is no section") {
  FakeMemory memory;
  std::vector<ModuleImage> modules{module("/opt/py/lib/libpython3.8.so.1.0", kPieBias)};
  modules[0].runtime_symbol = 0x372e00;
  modules[0].runtime_symbol_dynamic = true;
  auto found = find_runtime_candidates(modules, memory);
  REQUIRE(found.size() == 1);
  CHECK(found[0].address.as_int() == kPieBias + 0x372e00);
  CHECK(found[0].found_by == RuntimeFoundBy::kDynamicSymbol);
  CHECK(describe(found[0].found_by) == "the _PyRuntime symbol in .dynsym");

  modules[0].runtime_symbol_dynamic = false;
  found = find_runtime_candidates(modules, memory);
  REQUIRE(found.size() == 1);
  CHECK(found[0].found_by == RuntimeFoundBy::kSymbol);
}

TEST_CASE("an interpreter mapped twice gives two candidates; the initialised one is chosen") {
  FakeMemory memory;
  const std::uint64_t second_bias = 0x7f5500000000;
  std::vector<ModuleImage> modules{module("/opt/py/lib/libpython3.12.so.1.0", kPieBias),
                                   module("/opt/py/lib/libpython3.12.so.1.0", second_bias)};
  for (auto& m : modules) m.pyruntime_section = AddressRange{0x643340, 0x704a8};
  auto found = find_runtime_candidates(modules, memory);
  REQUIRE(found.size() == 2);
  CHECK(found[0].address.as_int() == kPieBias + 0x643340);
  CHECK(found[1].address.as_int() == second_bias + 0x643340);

  const std::uint64_t head = 0x28;  // interpreters.head in this fake layout
  for (const auto& c : found) memory.add_region(c.address.as_int(), 0x100);
  auto head_offset = [&](const RuntimeCandidate&) -> std::optional<std::uint64_t> {
    return head;
  };
  testing::QuietLogs quiet({"cpython"});
  // Neither initialised (a process still starting): the first.
  CHECK(choose_live_runtime(found, memory, head_offset) == 0u);
  // Only the second runs Python.
  memory.write_value<std::uint64_t>(found[1].address.as_int() + head, 0x5555deadb000);
  CHECK(choose_live_runtime(found, memory, head_offset) == 1u);
  // The version of the first is unknown: it is not read, the second still wins.
  memory.write_value<std::uint64_t>(found[0].address.as_int() + head, 0x5555beef0000);
  auto unknown_first = [&](const RuntimeCandidate& c) -> std::optional<std::uint64_t> {
    if (c.address == found[0].address) return std::nullopt;
    return head;
  };
  CHECK(choose_live_runtime(found, memory, unknown_first) == 1u);
  // Both initialised: the first (module order).
  CHECK(choose_live_runtime(found, memory, head_offset) == 0u);
  // An unreadable runtime counts as not initialised.
  std::vector<RuntimeCandidate> garbage{{0, RemoteAddr(0x10), RuntimeFoundBy::kSymbol, {}},
                                        found[1]};
  CHECK(choose_live_runtime(garbage, memory, head_offset) == 1u);
  CHECK(choose_live_runtime(std::span(found).first(1), memory, head_offset) == 0u);
  CHECK_FALSE(choose_live_runtime({}, memory, head_offset).has_value());
}

TEST_CASE("without section or symbol, a validated _Py_DebugOffsets header is found in memory") {
  testing::QuietLogs quiet({"cpython"});
  const auto header = valid_header();
  const std::uint64_t data = kPieBias + 0x500000;  // libpython's writable mapping
  FakeMemory memory;
  memory.add_region(data, 16 * kPage);
  std::vector<ModuleImage> modules{module("/usr/lib/libc.so.6", 0x7f0000000000),
                                   module("/opt/py/lib/libpython3.13.so.1.0", kPieBias)};
  modules[1].writable = {{data, 16 * kPage}};

  SUBCASE("nothing to find") {
    CHECK(find_runtime_candidates(modules, memory).empty());
  }
  SUBCASE("the header, not the decoys") {
    const std::uint64_t runtime = data + 5 * kPage + 0x4c0;
    memory.write_value(runtime, header);
    // Decoys: the cookie unaligned, with a 3.12 version, with a bad struct
    // offset, and with an absurd runtime size.
    memory.write_bytes(data + 0x103, "xdebugpy");
    auto old = header;
    old.version = 0x030C01F0;
    memory.write_value(data + kPage, old);
    auto bad_offset = header;
    bad_offset.thread_state.native_thread_id = bad_offset.thread_state.size;
    memory.write_value(data + 2 * kPage, bad_offset);
    auto huge = header;
    huge.runtime_state.size = std::uint64_t{1} << 40;
    memory.write_value(data + 3 * kPage, huge);

    auto found = find_runtime_candidates(modules, memory);
    REQUIRE(found.size() == 1);
    CHECK(found[0].module == 1);
    CHECK(found[0].address.as_int() == runtime);
    CHECK(found[0].found_by == RuntimeFoundBy::kDebugOffsetsCookie);
    REQUIRE(found[0].header_version.has_value());
    CHECK(found[0].header_version->to_string() == "3.13.0");
  }
  SUBCASE("a header across a chunk boundary, with an unreadable page before it") {
    FakeMemory gappy;
    // Two regions with a hole of one page: [data, +4 pages) and [+5, +16).
    gappy.add_region(data, 4 * kPage);
    gappy.add_region(data + 5 * kPage, 11 * kPage);
    const std::uint64_t runtime = data + 8 * kPage - 16;
    gappy.write_value(runtime, header);
    RuntimeScanLimits limits;
    limits.chunk_bytes = kPage;
    auto found = find_runtime_candidates(modules, gappy, limits);
    REQUIRE(found.size() == 1);
    CHECK(found[0].address.as_int() == runtime);
  }
  SUBCASE("3.14 and later are reported with their version, for a clear 'unsupported'") {
    auto newer = header;
    newer.version = 0x030E00F0;
    memory.write_value(data + 64, newer);
    auto found = find_runtime_candidates(modules, memory);
    REQUIRE(found.size() == 1);
    CHECK(found[0].header_version->to_string() == "3.14.0");
  }
  SUBCASE("python-named modules first; the others only when those hold none") {
    const std::uint64_t app_data = 0x600000;
    memory.add_region(app_data, kPage);
    memory.write_value(app_data + 8, header);
    modules.push_back(module("/usr/bin/embedding-app"));  // static, not PIE
    modules.back().writable = {{app_data, kPage}};
    auto found = find_runtime_candidates(modules, memory);
    REQUIRE(found.size() == 1);
    CHECK(found[0].module == 2);
    CHECK(found[0].address.as_int() == app_data + 8);

    memory.write_value(data + 4 * kPage, header);
    found = find_runtime_candidates(modules, memory);
    REQUIRE(found.size() == 1);
    CHECK(found[0].module == 1);
  }
  SUBCASE("the scan is bounded") {
    memory.write_value(data + 12 * kPage, header);
    RuntimeScanLimits limits;
    limits.max_bytes = 8 * kPage;
    limits.chunk_bytes = kPage;
    CHECK(find_runtime_candidates(modules, memory, limits).empty());
    limits.max_bytes = 16 * kPage;
    CHECK(find_runtime_candidates(modules, memory, limits).size() == 1);
  }
  SUBCASE("a free-threaded 3.13 (other layouts) is no candidate") {
    auto ft = header;
    ft.free_threaded = 1;
    memory.write_value(data, ft);
    CHECK(find_runtime_candidates(modules, memory).empty());
    ft.free_threaded = 2;
    memory.write_value(data, ft);
    CHECK(find_runtime_candidates(modules, memory).empty());
  }
}

TEST_CASE("read_debug_offsets_version reads the version of a valid header only") {
  FakeMemory memory;
  memory.add_region(0x1000, kPage);
  CHECK_FALSE(read_debug_offsets_version(memory, RemoteAddr(0x1000)).has_value());
  CHECK_FALSE(read_debug_offsets_version(memory, RemoteAddr(0x1000 + kPage - 8)).has_value());
  CHECK_FALSE(read_debug_offsets_version(memory, RemoteAddr(0)).has_value());
  memory.write_value(0x1000, valid_header());
  auto v = read_debug_offsets_version(memory, RemoteAddr(0x1000));
  REQUIRE(v.has_value());
  CHECK(v->to_string() == "3.13.0");
}
