// A RemoteMemory over byte regions placed at chosen addresses, for unit tests.
#pragma once

#include <cstring>
#include <map>
#include <span>
#include <string_view>
#include <vector>

#include "core/remote_memory.h"

namespace pyattach::testing {

class FakeMemory final : public RemoteMemory {
 public:
  // Adds (or replaces) a region of `size` zero bytes at `start`.
  void add_region(std::uint64_t start, std::size_t size) {
    regions_[start] = std::vector<std::byte>(size);
  }
  // Writes bytes at addr; the range must lie inside one region.
  void write(std::uint64_t addr, const void* data, std::size_t size) {
    auto* dst = locate(addr, size);
    if (!dst) throw std::out_of_range("FakeMemory::write outside regions");
    std::memcpy(dst, data, size);
  }
  template <class T>
  void write_value(std::uint64_t addr, const T& value) {
    write(addr, &value, sizeof value);
  }
  void write_bytes(std::uint64_t addr, std::string_view s) {
    write(addr, s.data(), s.size());
  }

  Result<void> read(RemoteAddr addr, std::span<std::byte> dst) const override {
    ++reads_;
    const auto* src = locate(addr.as_int(), dst.size());
    if (!src)
      return fail(ErrorCode::kBadRemoteAddress, "fake read outside regions");
    std::memcpy(dst.data(), src, dst.size());
    return {};
  }
  std::size_t reads() const { return reads_; }

 private:
  std::byte* locate(std::uint64_t addr, std::size_t size) const {
    auto it = regions_.upper_bound(addr);
    if (it == regions_.begin()) return nullptr;
    --it;
    std::uint64_t off = addr - it->first;
    if (off > it->second.size() || size > it->second.size() - off) return nullptr;
    return const_cast<std::byte*>(it->second.data() + off);
  }
  std::map<std::uint64_t, std::vector<std::byte>> regions_;
  mutable std::size_t reads_ = 0;
};

}  // namespace pyattach::testing
