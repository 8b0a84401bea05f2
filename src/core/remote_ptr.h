// Addresses in the target's address space. They are never host pointers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>

namespace pyattach {

// An untyped address in the target process.
class RemoteAddr {
 public:
  constexpr RemoteAddr() = default;
  constexpr explicit RemoteAddr(std::uint64_t value) : value_(value) {}
  template <class T>
  RemoteAddr(const T*) = delete;  // a host pointer is never a remote address

  constexpr std::uint64_t as_int() const { return value_; }
  constexpr bool is_null() const { return value_ == 0; }
  constexpr explicit operator bool() const { return value_ != 0; }
  constexpr RemoteAddr operator+(std::uint64_t bytes) const {
    return RemoteAddr(value_ + bytes);
  }
  constexpr RemoteAddr operator-(std::uint64_t bytes) const {
    return RemoteAddr(value_ - bytes);
  }
  constexpr auto operator<=>(const RemoteAddr&) const = default;

 private:
  std::uint64_t value_ = 0;
};

// A typed address in the target: arithmetic is scaled by sizeof(T).
template <class T>
class RemotePtr {
 public:
  constexpr RemotePtr() = default;
  constexpr explicit RemotePtr(RemoteAddr addr) : addr_(addr) {}
  constexpr explicit RemotePtr(std::uint64_t value) : addr_(value) {}
  template <class U>
  RemotePtr(const U*) = delete;

  constexpr RemoteAddr addr() const { return addr_; }
  constexpr std::uint64_t as_int() const { return addr_.as_int(); }
  constexpr bool is_null() const { return addr_.is_null(); }
  constexpr explicit operator bool() const { return !is_null(); }
  constexpr RemotePtr operator+(std::ptrdiff_t n) const {
    return RemotePtr(addr_ + static_cast<std::uint64_t>(n) * sizeof(T));
  }
  // The address of a member at a byte offset, e.g. from an offsets table.
  template <class F>
  constexpr RemotePtr<F> field(std::uint64_t byte_offset) const {
    return RemotePtr<F>(addr_ + byte_offset);
  }
  constexpr auto operator<=>(const RemotePtr&) const = default;

 private:
  RemoteAddr addr_;
};

}  // namespace pyattach

template <>
struct std::hash<pyattach::RemoteAddr> {
  std::size_t operator()(pyattach::RemoteAddr a) const noexcept {
    return std::hash<std::uint64_t>()(a.as_int());
  }
};
