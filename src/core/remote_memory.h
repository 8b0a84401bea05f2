// The one interface through which every layer reads the target.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "core/remote_ptr.h"
#include "core/result.h"

namespace pyattach {

// Reads bytes from a target address space: a live process (attach::LiveMemory),
// a snapshot or core file, or a test's FakeMemory.
//
// Contract of read(): either fills all of dst and succeeds, or fails with
// kBadRemoteAddress and leaves dst unspecified. Implementations must be safe
// to call with any address, including garbage from target memory.
class RemoteMemory {
 public:
  virtual ~RemoteMemory() = default;
  virtual Result<void> read(RemoteAddr addr, std::span<std::byte> dst) const = 0;

  // Many independent reads at once; each request succeeds or fails on its own
  // (ok). The default loops over read(); LiveMemory batches them into few
  // process_vm_readv calls, which is what makes a short pause possible.
  struct ReadRequest {
    RemoteAddr addr;
    std::span<std::byte> dst;
    bool ok = false;
  };
  virtual void read_many(std::span<ReadRequest> requests) const {
    for (auto& r : requests) r.ok = static_cast<bool>(read(r.addr, r.dst));
  }

  // A trivially copyable value at addr.
  template <class T>
  Result<T> read_value(RemoteAddr addr) const {
    static_assert(std::is_trivially_copyable_v<T>);
    T value;
    auto bytes = std::as_writable_bytes(std::span(&value, 1));
    if (auto r = read(addr, bytes); !r) return std::unexpected(r.error());
    return value;
  }
  template <class T>
  Result<T> read_object(RemotePtr<T> p) const {
    return read_value<T>(p.addr());
  }
  Result<std::uint64_t> read_u64(RemoteAddr addr) const {
    return read_value<std::uint64_t>(addr);
  }
  Result<RemoteAddr> read_pointer(RemoteAddr addr) const {
    auto v = read_u64(addr);
    if (!v) return std::unexpected(v.error());
    return RemoteAddr(*v);
  }
  // n bytes at addr. n is the caller's bound: callers must clamp lengths read
  // from the target before calling.
  Result<std::vector<std::byte>> read_bytes(RemoteAddr addr, std::size_t n) const;
  // A NUL-terminated string of at most max_len bytes (not counting the NUL).
  // Reads in small chunks so a string near the end of a mapping still reads.
  Result<std::string> read_c_string(RemoteAddr addr, std::size_t max_len) const;
};

}  // namespace pyattach
