#include "core/caching_memory.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include <sys/mman.h>

#include <fmt/format.h>

namespace pyattach {
namespace {

constexpr std::uint64_t kPage = CachingMemory::kPageSize;
// A longer single read (64 MiB) is a garbage length; the backend rejects it too.
constexpr std::uint64_t kMaxRead = std::uint64_t{64} << 20;

std::unexpected<Error> unreadable(RemoteAddr addr, std::size_t len, const char* why) {
  return fail(ErrorCode::kBadRemoteAddress,
              fmt::format("cannot read {} bytes at {:#x}: {}", len, addr.as_int(), why), 0);
}

bool range_ok(std::uint64_t start, std::uint64_t len) {
  return len <= kMaxRead && start <= std::numeric_limits<std::uint64_t>::max() - len &&
         start + len <= (std::uint64_t{1} << 63);
}

}  // namespace

// A read-around spans at most this many pages on each side of a miss.
constexpr std::uint64_t kMaxAround = 16;

// Batches of at least this many pages come from mmap(MAP_POPULATE): the
// kernel maps them in one go rather than faulting each in as it is written.
constexpr std::size_t kPopulateMinPages = 16;

void CachingMemory::BlockDeleter::operator()(std::byte* block) const {
  if (size) {
    ::munmap(block, size);
  } else {
    delete[] block;
  }
}

CachingMemory::Block CachingMemory::allocate_block(std::size_t pages) {
  if (pages >= kPopulateMinPages) {
    const std::size_t size = pages * kPage;
    void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (p != MAP_FAILED) return Block(static_cast<std::byte*>(p), BlockDeleter{size});
  }
  return Block(new std::byte[pages * kPage], BlockDeleter{0});
}

void CachingMemory::reserve(std::size_t pages) {
  pages = std::min(pages, max_pages_);
  if (pages == 0) return;
  pages_.reserve(pages_.size() + pages);  // no rehashing while stopped either
  Block block = allocate_block(std::max(pages, kPopulateMinPages));
  spare_next_ = block.get();
  spare_end_ = block.get() + std::max(pages, kPopulateMinPages) * kPage;
  blocks_.push_back(std::move(block));
}

void CachingMemory::fetch(std::span<const std::uint64_t> page_addrs) const {
  if (page_addrs.empty()) return;
  std::byte* base = nullptr;
  const std::size_t need = page_addrs.size() * kPage;
  if (static_cast<std::size_t>(spare_end_ - spare_next_) >= need) {
    base = spare_next_;
    spare_next_ += need;
  } else {
    Block block = allocate_block(page_addrs.size());
    base = block.get();
    blocks_.push_back(std::move(block));
  }
  std::vector<Page> fetched(page_addrs.size());
  std::vector<ReadRequest> requests(page_addrs.size());
  for (std::size_t i = 0; i < page_addrs.size(); ++i) {
    std::byte* data = base + i * kPage;
    fetched[i].data = data;
    requests[i] = {RemoteAddr(page_addrs[i]), std::span(data, kPage), false};
  }
  backend_.read_many(requests);
  ++stats_.batches;
  last_page_ = nullptr;
  last_page_addr_ = 1;
  for (std::size_t i = 0; i < page_addrs.size(); ++i) {
    Page& p = fetched[i];
    p.readable = requests[i].ok;
    if (p.readable) {
      ++stats_.pages;
    } else {
      p.data = nullptr;
      ++stats_.bad_pages;
    }
    pages_.insert_or_assign(page_addrs[i], std::move(p));
  }
}

void CachingMemory::read_many(std::span<ReadRequest> requests) const {
  // Fetch every missing page of every request in one batch, then serve them.
  std::vector<std::uint64_t> missing;
  const bool may_fetch = !frozen_;
  for (const auto& r : requests) {
    const std::uint64_t start = r.addr.as_int(), len = r.dst.size();
    if (len == 0 || !range_ok(start, len) || !may_fetch) continue;
    for (std::uint64_t p = start & ~(kPage - 1); p < start + len; p += kPage)
      if (!pages_.contains(p)) missing.push_back(p);
  }
  std::sort(missing.begin(), missing.end());
  missing.erase(std::unique(missing.begin(), missing.end()), missing.end());
  if (pages_.size() + missing.size() <= max_pages_) fetch(missing);
  for (auto& r : requests) r.ok = static_cast<bool>(read(r.addr, r.dst));
}

void CachingMemory::prefetch(std::span<const Range> ranges) const {
  if (frozen_) return;
  std::vector<std::uint64_t> missing;
  for (const auto& r : ranges) {
    const std::uint64_t start = r.addr.as_int();
    if (r.size == 0 || !range_ok(start, r.size)) continue;
    for (std::uint64_t p = start & ~(kPage - 1); p < start + r.size; p += kPage)
      if (!pages_.contains(p)) missing.push_back(p);
  }
  std::sort(missing.begin(), missing.end());
  missing.erase(std::unique(missing.begin(), missing.end()), missing.end());
  if (pages_.size() + missing.size() > max_pages_)
    missing.resize(max_pages_ > pages_.size() ? max_pages_ - pages_.size() : 0);
  fetch(missing);
}

void CachingMemory::prefetch_around(std::span<const RemoteAddr> addrs) const {
  std::vector<Range> ranges;
  ranges.reserve(addrs.size());
  for (RemoteAddr addr : addrs) {
    const std::uint64_t page = addr.as_int() & ~(kPage - 1);
    auto [first, end] = read_around_ ? read_around_(page) : std::pair{page, page + kPage};
    // The same bounds as a miss's read-around.
    first = std::max(first & ~(kPage - 1),
                     page >= kMaxAround * kPage ? page - kMaxAround * kPage : 0);
    end = std::min(end, page + kMaxAround * kPage);
    if (first < end) ranges.push_back({RemoteAddr(first), end - first});
  }
  prefetch(ranges);
}

Result<void> CachingMemory::read(RemoteAddr addr, std::span<std::byte> dst) const {
  const std::uint64_t start = addr.as_int(), len = dst.size();
  if (len == 0) return {};
  if (!range_ok(start, len)) return unreadable(addr, len, "outside the user address space");
  const std::uint64_t first = start & ~(kPage - 1);
  const std::uint64_t last = (start + len - 1) & ~(kPage - 1);
  // The common case, a small read inside one cached page: no allocation.
  if (first == last) {
    const Page* page = nullptr;
    if (first == last_page_addr_) {
      page = last_page_;
    } else if (auto it = pages_.find(first); it != pages_.end()) {
      page = &it->second;  // unordered_map nodes stay put until erased
      last_page_addr_ = first;
      last_page_ = page;
    }
    if (page) {
      ++stats_.hits;
      if (!page->readable) return unreadable(addr, len, "unreadable page");
      std::memcpy(dst.data(), page->data + (start - first), len);
      return {};
    }
  }

  // Pages not seen yet: fetch them together (or refuse, once frozen).
  std::vector<std::uint64_t> missing;
  for (std::uint64_t p = first;; p += kPage) {
    if (!pages_.contains(p)) missing.push_back(p);
    if (p == last) break;
  }
  if (!missing.empty()) {
    ++stats_.misses;
    if (frozen_) {
      for (auto p : missing) {
        if (!may_read_live_ || !may_read_live_(RemoteAddr(p))) {
          ++stats_.frozen_misses;
          return unreadable(addr, len, "not in the snapshot taken while the target was stopped");
        }
      }
      stats_.live_after_freeze += missing.size();
    }
    if (pages_.size() + missing.size() > max_pages_) {
      // Full: read through without caching (never while frozen, see above).
      return backend_.read(addr, dst);
    }
    if (read_around_ && !frozen_) {
      // Bounded by the caller's range and by max_pages.
      auto [around_first, around_end] = read_around_(first);
      around_first = std::max(around_first & ~(kPage - 1),
                              first >= kMaxAround * kPage ? first - kMaxAround * kPage : 0);
      around_end = std::min(around_end, last + kMaxAround * kPage);
      for (std::uint64_t p = around_first; p < around_end &&
                                           pages_.size() + missing.size() < max_pages_;
           p += kPage)
        if ((p < first || p > last) && !pages_.contains(p)) missing.push_back(p);
      std::sort(missing.begin(), missing.end());
    }
    fetch(missing);
  } else {
    ++stats_.hits;
  }

  std::size_t done = 0;
  for (std::uint64_t p = first;; p += kPage) {
    auto it = pages_.find(p);
    if (it == pages_.end() || !it->second.readable)
      return unreadable(addr, len, "unreadable page");
    const Page& page = it->second;
    const std::uint64_t from = std::max(start, p) - p;
    const std::uint64_t n = std::min(start + len, p + kPage) - p - from;
    std::memcpy(dst.data() + done, page.data + from, n);
    done += n;
    if (p == last) break;
  }
  return {};
}

void CachingMemory::freeze(std::function<bool(RemoteAddr)> may_read_live) {
  frozen_ = true;
  may_read_live_ = std::move(may_read_live);
}

void CachingMemory::clear() {
  pages_.clear();
  blocks_.clear();
  spare_next_ = spare_end_ = nullptr;
  last_page_ = nullptr;
  last_page_addr_ = 1;
  frozen_ = false;
  may_read_live_ = nullptr;
  stats_.pages = stats_.bad_pages = 0;
}

}  // namespace pyattach
