// A page cache in front of another RemoteMemory: each 4 KiB page of the target
// is read at most once, and many pages can be fetched in one batch.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <unordered_map>
#include <vector>

#include "core/remote_memory.h"

namespace pyattach {

// While the target is stopped, every read lands here (reads of the same page
// cost one syscall instead of one each); prefetch() brings in known ranges,
// such as thread stacks, in a few batched calls. After the target is released,
// freeze() turns it into the snapshot: reads are served from the cached pages,
// and a page that was never read is fetched only where `may_read_live` allows
// (memory that cannot have changed, such as read-only file mappings); any
// other miss fails, so nothing read after the release can be mixed with the
// snapshot unnoticed.
//
// Unreadable pages are remembered as such. Bounded: at most max_pages pages
// (default 64 Ki, 256 MiB); past that, reads go straight to the backend (or
// fail when frozen). Not thread-safe.
class CachingMemory final : public RemoteMemory {
 public:
  static constexpr std::uint64_t kPageSize = 4096;

  explicit CachingMemory(const RemoteMemory& backend, std::size_t max_pages = 64 * 1024)
      : backend_(backend), max_pages_(max_pages) {}

  Result<void> read(RemoteAddr addr, std::span<std::byte> dst) const override;
  void read_many(std::span<ReadRequest> requests) const override;

  // Fetches every page overlapping the ranges that is not cached yet, in
  // batches. Unreadable pages are recorded, never reported.
  struct Range {
    RemoteAddr addr;
    std::uint64_t size = 0;
  };
  void prefetch(std::span<const Range> ranges) const;
  // Fetches, in one batch, the pages the read-around would bring in for a
  // miss at each address (the page alone without a read-around).
  void prefetch_around(std::span<const RemoteAddr> addrs) const;

  // Read-around for single misses: given a missing page, the range of pages
  // [first, end) worth fetching with it in the same call (the caller clips
  // it to the page's mapping so that no neighbour fails the batch). Frame
  // chains and thread states sit in a few neighbouring pages: one call
  // brings them all instead of one call per page. Null: the page alone.
  using ReadAround = std::function<std::pair<std::uint64_t, std::uint64_t>(std::uint64_t page)>;
  void set_read_around(ReadAround read_around) { read_around_ = std::move(read_around); }

  // Maps and faults in room for `pages` pages that the next fetches fill
  // before they allocate anything. Called before the target is stopped, so
  // that the page faults on the buffers the kernel copies into (one per 4 KiB,
  // ~1 us each) are taken while the target still runs. Dropped by clear().
  void reserve(std::size_t pages);
  std::size_t reserved_pages_left() const {
    return static_cast<std::size_t>(spare_end_ - spare_next_) / kPageSize;
  }

  void freeze(std::function<bool(RemoteAddr)> may_read_live);
  bool frozen() const { return frozen_; }
  // Back to reading through on misses (the interactive shell's next stop).
  void clear();

  struct Stats {
    std::uint64_t hits = 0;          // read() calls served from cache entirely
    std::uint64_t misses = 0;        // read() calls that needed a page fetched
    std::uint64_t pages = 0;         // pages held (readable)
    std::uint64_t bad_pages = 0;     // pages known unreadable
    std::uint64_t batches = 0;       // backend read_many calls
    std::uint64_t frozen_misses = 0; // reads refused after freeze()
    std::uint64_t live_after_freeze = 0;  // pages read live after freeze()
  };
  const Stats& stats() const { return stats_; }

 private:
  struct Page {
    bool readable = false;
    const std::byte* data = nullptr;  // kPageSize bytes inside one of blocks_
  };
  // Pages are fetched into blocks, one per batch: one allocation (and, for
  // big batches, pages the kernel provides in bulk) instead of one per page.
  struct BlockDeleter {
    std::size_t size = 0;
    void operator()(std::byte* block) const;
  };
  using Block = std::unique_ptr<std::byte[], BlockDeleter>;
  static Block allocate_block(std::size_t pages);
  void fetch(std::span<const std::uint64_t> page_addrs) const;

  const RemoteMemory& backend_;
  std::size_t max_pages_;
  bool frozen_ = false;
  std::function<bool(RemoteAddr)> may_read_live_;
  ReadAround read_around_;
  mutable std::unordered_map<std::uint64_t, Page> pages_;
  mutable std::vector<Block> blocks_;
  // The unused part of the block reserve() made: [spare_next_, spare_end_).
  mutable std::byte* spare_next_ = nullptr;
  std::byte* spare_end_ = nullptr;
  // The page the last one-page read hit: frame walks read many small fields
  // of one page in a row, and a hash lookup each costs more than the copy.
  mutable std::uint64_t last_page_addr_ = 1;  // never a page address
  mutable const Page* last_page_ = nullptr;
  mutable Stats stats_;
};

}  // namespace pyattach
