#include "core/remote_memory.h"

#include <algorithm>

namespace pyattach {

Result<std::vector<std::byte>> RemoteMemory::read_bytes(RemoteAddr addr,
                                                        std::size_t n) const {
  std::vector<std::byte> out(n);
  if (n == 0) return out;
  if (auto r = read(addr, out); !r) return std::unexpected(r.error());
  return out;
}

Result<std::string> RemoteMemory::read_c_string(RemoteAddr addr,
                                                std::size_t max_len) const {
  std::string out;
  constexpr std::uint64_t kChunk = 64;
  std::byte buf[kChunk];
  while (out.size() < max_len) {
    // Never let a chunk cross a page boundary: the next page may be unmapped.
    std::uint64_t cur = addr.as_int() + out.size();
    std::uint64_t to_page_end = 4096 - (cur & 4095);
    std::size_t n = static_cast<std::size_t>(
        std::min<std::uint64_t>({kChunk, to_page_end, max_len - out.size()}));
    if (auto r = read(RemoteAddr(cur), std::span(buf, n)); !r)
      return std::unexpected(r.error());
    for (std::size_t i = 0; i < n; ++i) {
      if (buf[i] == std::byte{0}) return out;
      out.push_back(static_cast<char>(buf[i]));
    }
  }
  return out;
}

}  // namespace pyattach
