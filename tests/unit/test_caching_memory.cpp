// CachingMemory: page-granular caching, batching, unreadable pages, freezing.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>

#include "core/caching_memory.h"
#include "support/fake_memory.h"

using namespace pyattach;
using pyattach::testing::FakeMemory;

namespace {

// Counts batches on top of FakeMemory.
class CountingMemory final : public RemoteMemory {
 public:
  explicit CountingMemory(const FakeMemory& inner) : inner_(inner) {}
  Result<void> read(RemoteAddr addr, std::span<std::byte> dst) const override {
    ++reads;
    return inner_.read(addr, dst);
  }
  void read_many(std::span<ReadRequest> requests) const override {
    ++batches;
    for (auto& r : requests) r.ok = static_cast<bool>(inner_.read(r.addr, r.dst));
  }
  mutable int reads = 0, batches = 0;

 private:
  const FakeMemory& inner_;
};

// A mapped region whose every 8-byte word holds its own address, so that any
// read says where it came from.
void add_self_addressed_region(FakeMemory& fake, std::uint64_t start, std::uint64_t size) {
  fake.add_region(start, size);
  for (std::uint64_t a = start; a < start + size; a += 8) fake.write_value<std::uint64_t>(a, a);
}

// Reads around each miss: two pages below, one above, clipped to [lo, hi).
void read_around_within(CachingMemory& cache, std::uint64_t lo, std::uint64_t hi) {
  cache.set_read_around([lo, hi](std::uint64_t page) -> std::pair<std::uint64_t, std::uint64_t> {
    return {std::max<std::uint64_t>(lo, page - 0x2000), std::min<std::uint64_t>(hi, page + 0x2000)};
  });
}

}  // namespace

TEST_CASE("CachingMemory reads each page once and serves repeated and straddling reads") {
  FakeMemory fake;
  add_self_addressed_region(fake, 0x10000, 0x3000);
  CountingMemory counting(fake);
  CachingMemory cache(counting);

  CHECK(cache.read_u64(RemoteAddr(0x10008)).value() == 0x10008);
  CHECK(cache.read_u64(RemoteAddr(0x10ff8)).value() == 0x10ff8);
  CHECK(counting.batches == 1);
  CHECK(cache.stats().hits == 1);
  // Across a page boundary: the second page is fetched, the first reused.
  std::array<std::byte, 16> two{};
  REQUIRE(cache.read(RemoteAddr(0x10ffc), two));
  std::uint64_t hi = 0;
  std::memcpy(&hi, two.data() + 4, 8);
  CHECK(hi == 0x11000);
  CHECK(counting.batches == 2);
  CHECK(cache.stats().pages == 2);
}

TEST_CASE("CachingMemory remembers unreadable pages and fails reads touching them") {
  FakeMemory fake;
  fake.add_region(0x20000, 0x1000);  // 0x21000 is unmapped
  CountingMemory counting(fake);
  CachingMemory cache(counting);
  CHECK_FALSE(cache.read_u64(RemoteAddr(0x21000)));
  CHECK_FALSE(cache.read_u64(RemoteAddr(0x21008)));
  CHECK(counting.batches == 1);  // the bad page is not asked for again
  CHECK(cache.stats().bad_pages == 1);
  // A read straddling a good and a bad page fails as a whole.
  CHECK_FALSE(cache.read_u64(RemoteAddr(0x20ffc)));
  CHECK(cache.read_u64(RemoteAddr(0x20ff0)));
  // Garbage addresses fail without reaching the backend.
  const int before = counting.batches;
  CHECK_FALSE(cache.read_u64(RemoteAddr(~std::uint64_t{0} - 3)));
  CHECK_FALSE(cache.read_u64(RemoteAddr(std::uint64_t{1} << 63)));
  CHECK(counting.batches == before);
}

TEST_CASE("CachingMemory prefetches ranges in one batch, bounded by max_pages") {
  FakeMemory fake;
  fake.add_region(0x40000, 0x8000);
  CountingMemory counting(fake);
  CachingMemory cache(counting, 4);
  std::array ranges{CachingMemory::Range{RemoteAddr(0x40010), 0x2000},
                    CachingMemory::Range{RemoteAddr(0x44000), 0x4000}};
  cache.prefetch(ranges);
  CHECK(counting.batches == 1);
  CHECK(cache.stats().pages == 4);  // 3 + 4 pages wanted, 4 allowed
  // Past the bound reads go straight through, uncached.
  CHECK(cache.read_u64(RemoteAddr(0x47000)));
  CHECK(counting.reads == 1);
  CHECK(cache.stats().pages == 4);
}

TEST_CASE("A frozen CachingMemory serves the snapshot and reads live only where allowed") {
  FakeMemory fake;
  fake.add_region(0x50000, 0x2000);
  fake.write_value<std::uint64_t>(0x50000, 1);
  fake.write_value<std::uint64_t>(0x51000, 2);
  CountingMemory counting(fake);
  CachingMemory cache(counting);
  CHECK(cache.read_u64(RemoteAddr(0x50000)).value() == 1);
  // The target runs on and changes its memory; the snapshot does not.
  fake.write_value<std::uint64_t>(0x50000, 99);
  cache.freeze([](RemoteAddr a) { return a.as_int() >= 0x51000; });
  CHECK(cache.read_u64(RemoteAddr(0x50000)).value() == 1);
  CHECK(cache.read_u64(RemoteAddr(0x51000)).value() == 2);  // allowed: read live
  CHECK(cache.stats().live_after_freeze == 1);
  cache.freeze([](RemoteAddr) { return false; });
  CHECK_FALSE(cache.read_u64(RemoteAddr(0x52000)));
  CHECK(cache.stats().frozen_misses == 1);
  // clear(): a new stop reads through again.
  cache.clear();
  CHECK(cache.read_u64(RemoteAddr(0x50000)).value() == 99);
}

TEST_CASE("CachingMemory reads around a single miss within the range it is given") {
  FakeMemory fake;
  add_self_addressed_region(fake, 0x20000, 0x8000);
  CountingMemory counting(fake);
  CachingMemory cache(counting);
  // The mapping is [0x20000, 0x28000): two pages below and one above each miss.
  read_around_within(cache, 0x20000, 0x28000);
  CHECK(cache.read_value<std::uint64_t>(RemoteAddr(0x24010)).value() == 0x24010);
  CHECK(counting.batches == 1);
  // The neighbours came with it: no more backend calls.
  CHECK(cache.read_value<std::uint64_t>(RemoteAddr(0x22008)).value() == 0x22008);
  CHECK(cache.read_value<std::uint64_t>(RemoteAddr(0x25ff8)).value() == 0x25ff8);
  CHECK(counting.batches == 1);
  CHECK(counting.reads == 0);
  // Outside the range: a new batch, clipped at the mapping's start.
  CHECK(cache.read_value<std::uint64_t>(RemoteAddr(0x20000)).value() == 0x20000);
  CHECK(counting.batches == 2);
  CHECK(cache.stats().bad_pages == 0);
  // Frozen: no reading around (nor anything else) for pages never read.
  cache.freeze(nullptr);
  CHECK_FALSE(cache.read_value<std::uint64_t>(RemoteAddr(0x27000)));
  CHECK(counting.batches == 2);
}

TEST_CASE("CachingMemory fills the room reserve() made before allocating, until clear()") {
  FakeMemory fake;
  add_self_addressed_region(fake, 0x60000, 0x20000);
  CountingMemory counting(fake);
  CachingMemory cache(counting);
  cache.reserve(20);
  CHECK(cache.reserved_pages_left() == 20);
  std::array ranges{CachingMemory::Range{RemoteAddr(0x60000), 0x3000}};
  cache.prefetch(ranges);
  CHECK(cache.reserved_pages_left() == 17);
  CHECK(cache.read_u64(RemoteAddr(0x61008)).value() == 0x61008);
  CHECK(cache.read_u64(RemoteAddr(0x65000)).value() == 0x65000);  // a miss: one more page
  CHECK(cache.reserved_pages_left() == 16);
  // A batch bigger than what is left gets its own block; the room stays.
  std::array big{CachingMemory::Range{RemoteAddr(0x66000), 0x11000}};
  cache.prefetch(big);
  CHECK(cache.stats().pages == 4 + 17);
  CHECK(cache.reserved_pages_left() == 16);
  CHECK(cache.read_u64(RemoteAddr(0x76ff8)).value() == 0x76ff8);
  cache.clear();
  CHECK(cache.reserved_pages_left() == 0);
  CHECK(cache.read_u64(RemoteAddr(0x61008)).value() == 0x61008);
}

TEST_CASE("CachingMemory prefetches the read-around of many addresses in one batch") {
  FakeMemory fake;
  add_self_addressed_region(fake, 0x80000, 0x10000);
  CountingMemory counting(fake);
  CachingMemory cache(counting);
  read_around_within(cache, 0x80000, 0x90000);
  std::array addrs{RemoteAddr(0x80010), RemoteAddr(0x88abc), RemoteAddr(0x89000)};
  cache.prefetch_around(addrs);
  CHECK(counting.batches == 1);
  // [0x80000, 0x82000) and [0x86000, 0x8b000): 2 + 5 pages.
  CHECK(cache.stats().pages == 7);
  CHECK(cache.read_u64(RemoteAddr(0x86000)).value() == 0x86000);
  CHECK(cache.read_u64(RemoteAddr(0x8aff8)).value() == 0x8aff8);
  CHECK(counting.batches == 1);
  CHECK(counting.reads == 0);
}
