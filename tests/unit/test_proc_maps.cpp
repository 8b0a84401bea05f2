#include <doctest/doctest.h>

#include <array>
#include <string_view>

#include "core/proc_maps.h"

using namespace pyattach;

TEST_CASE("parse_proc_maps reads every field") {
  auto maps = parse_proc_maps(
      "55d0c0a00000-55d0c0a01000 r--p 00000000 08:01 1234                       /usr/bin/python3.12\n"
      "7f6e5e0a0000-7f6e5e2a0000 r-xp 0009f000 fe:00 777 /root/lib/lib python.so\n"
      "7ffd1000-7ffd2000 rw-p 00000000 00:00 0                          [stack]\n"
      "7f00-7f10 rw-s 00000000 00:00 0\n");
  REQUIRE(maps);
  REQUIRE(maps->size() == 4);
  CHECK((*maps)[0].start == 0x55d0c0a00000);
  CHECK((*maps)[0].end == 0x55d0c0a01000);
  CHECK((*maps)[0].readable);
  CHECK_FALSE((*maps)[0].writable);
  CHECK((*maps)[0].path == "/usr/bin/python3.12");
  CHECK((*maps)[0].is_file());
  CHECK((*maps)[1].executable);
  CHECK((*maps)[1].file_offset == 0x9f000);
  CHECK((*maps)[1].inode == 777);
  CHECK((*maps)[1].path == "/root/lib/lib python.so");  // spaces kept
  CHECK((*maps)[2].path == "[stack]");
  CHECK_FALSE((*maps)[2].is_file());
  CHECK((*maps)[3].shared);
  CHECK((*maps)[3].path.empty());
}

TEST_CASE("parse_proc_maps names the malformed line") {
  struct Case {
    std::string_view text;
    std::string_view error;
  };
  const std::array cases = {
      Case{"zz-10 r--p 0 0:0 0\n", "malformed /proc/PID/maps line 1: zz-10 r--p 0 0:0 0"},
      Case{"10-20 r--p 0 00:00 0\n10-20\n", "malformed /proc/PID/maps line 2: 10-20"},
      Case{"20-10 r--p 0 00:00 0\n", "malformed /proc/PID/maps line 1: 20-10 r--p 0 00:00 0"},
  };
  for (const auto& c : cases) {
    SUBCASE(std::string(c.text).c_str()) {
      auto maps = parse_proc_maps(c.text);
      REQUIRE_FALSE(maps);
      CHECK(maps.error().code == ErrorCode::kCorruptData);
      CHECK(maps.error().message == c.error);
    }
  }
}

TEST_CASE("find_mapping: the mapping holding an address, none in gaps or past the ends") {
  auto maps = parse_proc_maps("1000-3000 r--p 0 00:00 0\n5000-6000 rw-p 0 00:00 0\n");
  REQUIRE(maps);
  CHECK(find_mapping(*maps, 0x1000) == &(*maps)[0]);
  CHECK(find_mapping(*maps, 0x2fff) == &(*maps)[0]);
  CHECK(find_mapping(*maps, 0x5800) == &(*maps)[1]);
  CHECK(find_mapping(*maps, 0xfff) == nullptr);
  CHECK(find_mapping(*maps, 0x3000) == nullptr);  // end is exclusive
  CHECK(find_mapping(*maps, 0x4000) == nullptr);
  CHECK(find_mapping(*maps, 0x6000) == nullptr);
  CHECK(find_mapping({}, 0x1000) == nullptr);
}
