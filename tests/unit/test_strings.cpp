// str and bytes decoding on fake memory: images recorded from live
// interpreters (scripts/record_decoder_data.py) and hand-built ones.
#include <doctest/doctest.h>

#include <array>
#include <charconv>
#include <cstdint>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cpython/strings.h"
#include "support/fake_memory.h"

using namespace pyattach;
using namespace pyattach::cpython;
using pyattach::testing::FakeMemory;

namespace {

// ---- The recorded files ---------------------------------------------------

struct ObjectRecord {
  bool is_str = true;
  std::string name;
  std::uint64_t addr = 0;
  std::string object;                      // raw bytes at addr
  std::optional<std::uint64_t> data_addr;  // non-compact str: the data buffer
  std::string data;
  std::uint64_t length = 0;
  int kind = 0;
  bool ascii = false;
  bool compact = true;
  std::string expect;  // UTF-8 (str) or raw bytes (bytes)
};

std::uint64_t parse_u64(std::string_view s, int base) {
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  if (ec != std::errc() || p != s.data() + s.size())
    throw std::runtime_error("not a number: " + std::string(s));
  return v;
}

std::string from_hex(std::string_view hex) {
  std::string out;
  if (hex == "-") return out;
  if (hex.size() % 2) throw std::runtime_error("odd hex length");
  for (std::size_t i = 0; i < hex.size(); i += 2)
    out += static_cast<char>(parse_u64(hex.substr(i, 2), 16));
  return out;
}

// Throws std::runtime_error naming the line on malformed input.
std::vector<ObjectRecord> parse_recording(std::istream& in, int& minor) {
  std::vector<ObjectRecord> out;
  ObjectRecord rec;
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    try {
      if (line.empty() || line[0] == '#') continue;
      std::string_view view(line);
      auto space = view.find(' ');
      std::string_view key = view.substr(0, space);
      std::string_view value =
          space == std::string_view::npos ? std::string_view() : view.substr(space + 1);
      if (key == "version") {
        minor = static_cast<int>(parse_u64(value.substr(2), 10));
      } else if (key == "string" || key == "bytes") {
        rec = ObjectRecord{};
        rec.is_str = key == "string";
        rec.name = value;
      } else if (key == "addr") {
        rec.addr = parse_u64(value, 16);
      } else if (key == "object") {
        rec.object = from_hex(value);
      } else if (key == "data") {
        auto cut = value.find(' ');
        rec.data_addr = parse_u64(value.substr(0, cut), 16);
        rec.data = from_hex(value.substr(cut + 1));
      } else if (key == "expect_length") {
        rec.length = parse_u64(value, 10);
      } else if (key == "expect_kind") {
        rec.kind = static_cast<int>(parse_u64(value, 10));
      } else if (key == "expect_ascii") {
        rec.ascii = value == "1";
      } else if (key == "expect_compact") {
        rec.compact = value == "1";
      } else if (key == "expect_utf8" || key == "expect_hex") {
        rec.expect = from_hex(value);
      } else if (key == "end") {
        out.push_back(std::move(rec));
      } else {
        throw std::runtime_error("unknown key");
      }
    } catch (const std::exception& e) {
      throw std::runtime_error("line " + std::to_string(number) + ": " + e.what());
    }
  }
  return out;
}

FakeMemory memory_for(const ObjectRecord& rec) {
  FakeMemory mem;
  mem.add_region(rec.addr, rec.object.size());
  mem.write_bytes(rec.addr, rec.object);
  if (rec.data_addr) {
    mem.add_region(*rec.data_addr, rec.data.size());
    mem.write_bytes(*rec.data_addr, rec.data);
  }
  return mem;
}

}  // namespace

TEST_CASE("read_unicode and read_bytes_object decode objects recorded from CPython") {
  for (int minor = 8; minor <= 13; ++minor) {
    const std::string version = "3." + std::to_string(minor);
    SUBCASE(version.c_str()) {
      const std::string path =
          std::string(PYATTACH_TEST_DATA_DIR) + "/strings/" + version + ".txt";
      std::ifstream in(path);
      if (!in)
        FAIL("missing recorded data file "
             << path << " (scripts/record_decoder_data.py makes it)");
      std::vector<ObjectRecord> records;
      int recorded_minor = 0;
      try {
        records = parse_recording(in, recorded_minor);
      } catch (const std::exception& e) {
        FAIL("malformed " << path << ": " << e.what());
      }
      CHECK(recorded_minor == minor);
      const UnicodeLayout layout = unicode_layout_for(minor);
      int strings = 0, non_compact = 0;
      for (const auto& rec : records) {
        INFO(version << " " << rec.name);
        FakeMemory mem = memory_for(rec);
        if (!rec.is_str) {
          auto b = read_bytes_object(mem, RemoteAddr(rec.addr), BytesLayout{});
          REQUIRE_MESSAGE(b, b.error().message);
          CHECK(b->data == rec.expect);
          CHECK(b->length == rec.expect.size());
          CHECK_FALSE(b->truncated);
          continue;
        }
        ++strings;
        if (!rec.compact) ++non_compact;
        auto s = read_unicode(mem, RemoteAddr(rec.addr), layout);
        REQUIRE_MESSAGE(s, s.error().message);
        CHECK(s->utf8 == rec.expect);
        CHECK(s->length == rec.length);
        CHECK(s->kind == rec.kind);
        CHECK(s->ascii == rec.ascii);
        CHECK_FALSE(s->truncated);
        if (rec.length > 2) {
          auto cut = read_unicode(mem, RemoteAddr(rec.addr), layout, 2);
          REQUIRE(cut);
          CHECK(cut->truncated);
          CHECK(cut->length == rec.length);
          CHECK(rec.expect.starts_with(cut->utf8));
        }
      }
      // Every version can make non-compact strings: str subclass instances.
      CHECK(strings >= 15);
      CHECK(non_compact >= 5);
    }
  }
}

// ---- Hand-built images ----------------------------------------------------------

namespace {

constexpr std::uint32_t kReady = 1u << 7;  // 3.8-3.11; harmless bit on 3.12+

std::uint32_t state_word(const UnicodeLayout& layout, int kind, bool compact,
                         bool ascii) {
  return static_cast<std::uint32_t>(kind) << layout.kind_shift |
         static_cast<std::uint32_t>(compact) << layout.compact_shift |
         static_cast<std::uint32_t>(ascii) << layout.ascii_shift | kReady;
}

std::string units(std::u32string_view text, int kind) {
  std::string out;
  for (char32_t c : text)
    for (int i = 0; i < kind; ++i) out += static_cast<char>((c >> (8 * i)) & 0xff);
  return out;
}

// Writes the header of a str at addr (the region must exist).
void write_header(FakeMemory& mem, std::uint64_t addr, const UnicodeLayout& layout,
                  std::int64_t length, std::uint32_t state) {
  mem.write_value<std::int64_t>(addr + layout.length_offset, length);
  mem.write_value<std::uint32_t>(addr + layout.state_offset, state);
}

// A compact str at addr, in a region of its own.
void put_compact(FakeMemory& mem, std::uint64_t addr, const UnicodeLayout& layout,
                 std::u32string_view text, int kind, bool ascii) {
  std::uint64_t header = ascii ? layout.ascii_size : layout.compact_size;
  std::string data = units(text, kind);
  mem.add_region(addr, header + data.size() + static_cast<std::size_t>(kind));
  write_header(mem, addr, layout, static_cast<std::int64_t>(text.size()),
               state_word(layout, kind, true, ascii));
  mem.write_bytes(addr + header, data);
}

// A non-compact str at addr whose characters live at data_addr.
void put_legacy(FakeMemory& mem, std::uint64_t addr, std::uint64_t data_addr,
                const UnicodeLayout& layout, std::u32string_view text, int kind,
                bool ascii) {
  mem.add_region(addr, layout.legacy_data_offset + 8);
  write_header(mem, addr, layout, static_cast<std::int64_t>(text.size()),
               state_word(layout, kind, false, ascii));
  mem.write_value<std::uint64_t>(addr + layout.legacy_data_offset, data_addr);
  std::string data = units(text, kind);
  mem.add_region(data_addr, data.size() + static_cast<std::size_t>(kind));
  mem.write_bytes(data_addr, data);
}

struct KindCase {
  const char* name;
  std::u32string_view text;
  int kind;
  bool ascii;
  std::string_view utf8;
};

const std::array kKindCases = {
    KindCase{"empty", U"", 1, true, ""},
    KindCase{"ascii", U"hello", 1, true, "hello"},
    KindCase{"latin-1", U"caf\u00e9\u00ff", 1, false, "caf\xc3\xa9\xc3\xbf"},
    KindCase{"bmp", U"\u041f\u65e5", 2, false, "\xd0\x9f\xe6\x97\xa5"},
    KindCase{"astral", U"a\U0001f600", 4, false, "a\xf0\x9f\x98\x80"},
    KindCase{"lone surrogate", U"x\xd800y", 2, false, "x\\ud800y"},
    KindCase{"surrogate pair units stay apart", U"\xd83d\xde00", 2, false,
             "\\ud83d\\ude00"},
    KindCase{"surrogate in ucs4", U"\xdfff\U0010ffff", 4, false,
             "\\udfff\xf4\x8f\xbf\xbf"},
    KindCase{"beyond U+10FFFF", U"\x110000", 4, false, "\\U00110000"},
    KindCase{"nul inside", std::u32string_view(U"a\0b", 3), 1, true,
             std::string_view("a\0b", 3)},
};

}  // namespace

TEST_CASE("read_unicode decodes every kind, compact and not, in both layouts") {
  for (int minor : {11, 12}) {
    const UnicodeLayout layout = unicode_layout_for(minor);
    for (const auto& c : kKindCases) {
      SUBCASE((std::string(c.name) + " 3." + std::to_string(minor)).c_str()) {
        FakeMemory mem;
        put_compact(mem, 0x10000, layout, c.text, c.kind, c.ascii);
        auto s = read_unicode(mem, RemoteAddr(0x10000), layout);
        REQUIRE_MESSAGE(s, s.error().message);
        CHECK(s->utf8 == c.utf8);
        CHECK(s->length == c.text.size());
        CHECK(s->kind == c.kind);
        CHECK(s->ascii == c.ascii);
        CHECK_FALSE(s->truncated);

        put_legacy(mem, 0x20000, 0x30000, layout, c.text, c.kind, c.ascii);
        auto legacy = read_unicode(mem, RemoteAddr(0x20000), layout);
        REQUIRE_MESSAGE(legacy, legacy.error().message);
        CHECK(legacy->utf8 == c.utf8);
      }
    }
  }
}

TEST_CASE("unicode_layout_for gives each version's struct sizes") {
  struct Case {
    int minor;
    std::uint64_t ascii_size, compact_size, legacy_data_offset;
  };
  // From `ptype /o` on each version's libpython (see strings.h).
  const std::array cases = {Case{8, 48, 72, 72},  Case{9, 48, 72, 72},
                            Case{10, 48, 72, 72}, Case{11, 48, 72, 72},
                            Case{12, 40, 56, 56}, Case{13, 40, 56, 56}};
  for (const auto& c : cases) {
    SUBCASE(("3." + std::to_string(c.minor)).c_str()) {
      auto layout = unicode_layout_for(c.minor);
      CHECK(layout.length_offset == 16);
      CHECK(layout.state_offset == 32);
      CHECK(layout.ascii_size == c.ascii_size);
      CHECK(layout.compact_size == c.compact_size);
      CHECK(layout.legacy_data_offset == c.legacy_data_offset);
      CHECK(layout.kind_shift == 2);
      CHECK(layout.compact_shift == 5);
      CHECK(layout.ascii_shift == 6);
    }
  }
}

TEST_CASE("read_unicode reads across a page boundary between two regions") {
  const UnicodeLayout layout = unicode_layout_for(12);
  FakeMemory mem;
  // Two adjacent pages as separate regions: no single read may span them.
  mem.add_region(0x10000, 0x1000);
  mem.add_region(0x11000, 0x1000);
  SUBCASE("data crosses") {
    std::u32string text(600, U'\u0436');  // kind 2: 1200 bytes from 0x10c38
    write_header(mem, 0x10c00, layout, static_cast<std::int64_t>(text.size()),
                 state_word(layout, 2, true, false));
    std::string data = units(text, 2);
    std::size_t first = 0x11000 - (0x10c00 + layout.compact_size);
    mem.write_bytes(0x10c00 + layout.compact_size, data.substr(0, first));
    mem.write_bytes(0x11000, data.substr(first));
    auto s = read_unicode(mem, RemoteAddr(0x10c00), layout);
    REQUIRE_MESSAGE(s, s.error().message);
    CHECK(s->length == 600);
    std::string expect;
    for (int i = 0; i < 600; ++i) expect += "\xd0\xb6";
    CHECK(s->utf8 == expect);
  }
  SUBCASE("header crosses") {
    // length at 0x10ff8 on the first page, state at 0x11008 on the second.
    write_header(mem, 0x10fe8, layout, 3, state_word(layout, 1, true, true));
    mem.write_bytes(0x10fe8 + layout.ascii_size, "abc");
    auto s = read_unicode(mem, RemoteAddr(0x10fe8), layout);
    REQUIRE_MESSAGE(s, s.error().message);
    CHECK(s->utf8 == "abc");
  }
}

TEST_CASE("read_unicode fails cleanly on bad memory") {
  const UnicodeLayout layout = unicode_layout_for(11);
  FakeMemory mem;
  auto expect_error = [&](std::uint64_t addr, ErrorCode code, std::string_view message) {
    auto s = read_unicode(mem, RemoteAddr(addr), layout);
    REQUIRE_FALSE(s);
    CHECK(s.error().code == code);
    if (!message.empty()) CHECK(s.error().message == message);
  };
  SUBCASE("object unreadable") {
    expect_error(0xdead0000, ErrorCode::kBadRemoteAddress,
                 "str at 0xdead0000: fake read outside regions");
  }
  SUBCASE("data pointer unreadable") {
    put_legacy(mem, 0x20000, 0x30000, layout, U"abc", 1, true);
    mem.write_value<std::uint64_t>(0x20000 + layout.legacy_data_offset, 0xbad00000);
    expect_error(0x20000, ErrorCode::kBadRemoteAddress,
                 "str data at 0xbad00000: fake read outside regions");
  }
  SUBCASE("data pointer NULL") {
    put_legacy(mem, 0x20000, 0x30000, layout, U"abc", 1, true);
    mem.write_value<std::uint64_t>(0x20000 + layout.legacy_data_offset, 0);
    expect_error(0x20000, ErrorCode::kCorruptData,
                 "str at 0x20000: non-compact with no data");
  }
  SUBCASE("data runs off its region") {
    put_compact(mem, 0x10000, layout, U"abc", 1, true);
    write_header(mem, 0x10000, layout, 5000, state_word(layout, 1, true, true));
    expect_error(0x10000, ErrorCode::kBadRemoteAddress, "");
  }
  SUBCASE("garbage kinds") {
    for (int kind : {0, 3, 5, 6, 7}) {
      put_compact(mem, 0x10000, layout, U"abc", 1, false);
      write_header(mem, 0x10000, layout, 3, state_word(layout, kind, true, false));
      expect_error(0x10000, ErrorCode::kCorruptData,
                   "str at 0x10000: kind " + std::to_string(kind) + " is not 1, 2 or 4");
    }
  }
  SUBCASE("ASCII flag on a wide kind") {
    put_compact(mem, 0x10000, layout, U"abc", 2, false);
    write_header(mem, 0x10000, layout, 3, state_word(layout, 2, true, true));
    expect_error(0x10000, ErrorCode::kCorruptData,
                 "str at 0x10000: ASCII flag on kind 2");
  }
  SUBCASE("negative length") {
    put_compact(mem, 0x10000, layout, U"abc", 1, true);
    write_header(mem, 0x10000, layout, -1, state_word(layout, 1, true, true));
    expect_error(0x10000, ErrorCode::kCorruptData,
                 "str at 0x10000: impossible length -1");
  }
  SUBCASE("length no allocation could hold") {
    put_compact(mem, 0x10000, layout, U"abc", 4, false);
    write_header(mem, 0x10000, layout, INT64_MAX / 4, state_word(layout, 4, true, false));
    expect_error(0x10000, ErrorCode::kCorruptData, "");
  }
  SUBCASE("address wraps around") {
    expect_error(0xfffffffffffffff0, ErrorCode::kBadRemoteAddress, "");
  }
}

TEST_CASE("read_unicode stops at max_chars") {
  const UnicodeLayout layout = unicode_layout_for(13);
  FakeMemory mem;
  put_compact(mem, 0x10000, layout, U"\u00e9abcdefghi", 1, false);
  SUBCASE("shorter than the string") {
    auto s = read_unicode(mem, RemoteAddr(0x10000), layout, 4);
    REQUIRE(s);
    CHECK(s->utf8 ==
          "\xc3\xa9"
          "abc");
    CHECK(s->length == 10);
    CHECK(s->truncated);
  }
  SUBCASE("exactly the string") {
    auto s = read_unicode(mem, RemoteAddr(0x10000), layout, 10);
    REQUIRE(s);
    CHECK(s->utf8 ==
          "\xc3\xa9"
          "abcdefghi");
    CHECK_FALSE(s->truncated);
  }
  SUBCASE("zero") {
    auto s = read_unicode(mem, RemoteAddr(0x10000), layout, 0);
    REQUIRE(s);
    CHECK(s->utf8.empty());
    CHECK(s->truncated);
  }
  SUBCASE("only what is needed is read") {
    // A huge (garbage) length whose first characters are readable still
    // decodes up to max_chars, without touching memory beyond them.
    write_header(mem, 0x10000, layout, 1'000'000'000, state_word(layout, 1, true, false));
    auto s = read_unicode(mem, RemoteAddr(0x10000), layout, 3);
    REQUIRE(s);
    CHECK(s->utf8 ==
          "\xc3\xa9"
          "ab");
    CHECK(s->length == 1'000'000'000);
    CHECK(s->truncated);
  }
  SUBCASE("a long string in chunks") {
    std::u32string text(10000, U'\U0001f40d');
    put_compact(mem, 0x100000, layout, text, 4, false);
    auto s = read_unicode(mem, RemoteAddr(0x100000), layout, 9000);
    REQUIRE(s);
    CHECK(s->utf8.size() == 9000 * 4);
    CHECK(s->utf8.substr(0, 4) == "\xf0\x9f\x90\x8d");
    CHECK(s->truncated);
  }
}

TEST_CASE("read_bytes_object") {
  FakeMemory mem;
  const BytesLayout layout;
  auto put = [&](std::uint64_t addr, std::int64_t size, std::string_view data) {
    mem.add_region(addr, layout.sval_offset + data.size() + 1);
    mem.write_value<std::int64_t>(addr + layout.size_offset, size);
    mem.write_bytes(addr + layout.sval_offset, data);
  };
  SUBCASE("whole") {
    put(0x1000, 5,
        std::string_view("a\0b\xff"
                         "c",
                         5));
    auto b = read_bytes_object(mem, RemoteAddr(0x1000), layout);
    REQUIRE(b);
    CHECK(b->data == std::string_view("a\0b\xff"
                                      "c",
                                      5));
    CHECK(b->length == 5);
    CHECK_FALSE(b->truncated);
  }
  SUBCASE("empty") {
    put(0x1000, 0, "");
    auto b = read_bytes_object(mem, RemoteAddr(0x1000), layout);
    REQUIRE(b);
    CHECK(b->data.empty());
  }
  SUBCASE("truncated") {
    put(0x1000, 5, "hello");
    auto b = read_bytes_object(mem, RemoteAddr(0x1000), layout, 2);
    REQUIRE(b);
    CHECK(b->data == "he");
    CHECK(b->length == 5);
    CHECK(b->truncated);
  }
  SUBCASE("negative size") {
    put(0x1000, -3, "");
    auto b = read_bytes_object(mem, RemoteAddr(0x1000), layout);
    REQUIRE_FALSE(b);
    CHECK(b.error().code == ErrorCode::kCorruptData);
    CHECK(b.error().message == "bytes at 0x1000: negative size -3");
  }
  SUBCASE("data past the region") {
    put(0x1000, 100, "short");
    auto b = read_bytes_object(mem, RemoteAddr(0x1000), layout);
    REQUIRE_FALSE(b);
    CHECK(b.error().code == ErrorCode::kBadRemoteAddress);
  }
  SUBCASE("unreadable object") {
    auto b = read_bytes_object(mem, RemoteAddr(0x9000), layout);
    REQUIRE_FALSE(b);
    CHECK(b.error().code == ErrorCode::kBadRemoteAddress);
  }
}
