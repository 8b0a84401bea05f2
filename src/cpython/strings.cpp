// str and bytes decoding. PEP 393 (Include/cpython/unicodeobject.h) defines
// the three forms: compact ASCII (data right after PyASCIIObject), compact
// (data after PyCompactUnicodeObject) and non-compact (data behind a pointer).
#include "cpython/strings.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstring>
#include <limits>
#include <span>
#include <vector>

namespace pyattach::cpython {
namespace {

constexpr std::uint64_t kPageSize = 4096;
// Bytes decoded per step: a multiple of every kind, so no code unit is split.
constexpr std::size_t kChunk = 4096;

// Reads dst one page at a time. A memory source may serve only one mapping
// (a core file segment, a FakeMemory region) per read, and an object can
// straddle two mappings that are both readable.
Result<void> read_paged(const RemoteMemory& memory, RemoteAddr addr,
                        std::span<std::byte> dst) {
  if (addr.as_int() > std::numeric_limits<std::uint64_t>::max() - dst.size())
    return fail(
        ErrorCode::kBadRemoteAddress,
        fmt::format("read at {:#x} wraps around the address space", addr.as_int()));
  std::size_t done = 0;
  while (done < dst.size()) {
    std::uint64_t at = addr.as_int() + done;
    std::size_t in_page = static_cast<std::size_t>(kPageSize - at % kPageSize);
    std::size_t n = std::min(in_page, dst.size() - done);
    if (auto r = memory.read(RemoteAddr(at), dst.subspan(done, n)); !r)
      return std::unexpected(r.error());
    done += n;
  }
  return {};
}

template <class T>
Result<T> read_paged_value(const RemoteMemory& memory, RemoteAddr addr) {
  std::array<std::byte, sizeof(T)> raw;
  if (auto r = read_paged(memory, addr, raw); !r) return std::unexpected(r.error());
  T value;
  std::memcpy(&value, raw.data(), sizeof(T));
  return value;
}

Error with_context(Error e, std::string_view what, RemoteAddr addr) {
  e.message = fmt::format("{} at {:#x}: {}", what, addr.as_int(), e.message);
  return e;
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp >= 0xd800 && cp <= 0xdfff) {
    // A str holds surrogates as single code points (never as pairs); UTF-8
    // cannot carry them, so write them as repr() does.
    out += fmt::format("\\u{:04x}", cp);
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xe0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp <= 0x10ffff) {
    out += static_cast<char>(0xf0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    // Only corrupt memory holds these; a UCS4 str can't be built with one.
    out += fmt::format("\\U{:08x}", cp);
  }
}

// Code units are little-endian: the target is x86-64.
std::uint32_t code_unit(std::span<const std::byte> data, std::size_t i, int kind) {
  auto byte = [&](std::size_t k) { return std::to_integer<std::uint32_t>(data[k]); };
  switch (kind) {
    case 1:
      return byte(i);
    case 2:
      return byte(2 * i) | byte(2 * i + 1) << 8;
    default:
      return byte(4 * i) | byte(4 * i + 1) << 8 | byte(4 * i + 2) << 16 |
             byte(4 * i + 3) << 24;
  }
}

}  // namespace

UnicodeLayout unicode_layout_for(int minor) {
  UnicodeLayout layout;  // 3.8-3.11
  if (minor >= 12) {
    // 3.12 removed PyASCIIObject.wstr and PyCompactUnicodeObject.wstr_length
    // (PEP 623); `ready` became `statically_allocated`, same bit positions.
    layout.ascii_size = 40;
    layout.compact_size = 56;
    layout.legacy_data_offset = 56;
  }
  return layout;
}

Result<DecodedString> read_unicode(const RemoteMemory& memory, RemoteAddr obj,
                                   const UnicodeLayout& layout, std::size_t max_chars) {
  auto length = read_paged_value<std::int64_t>(memory, obj + layout.length_offset);
  if (!length) return std::unexpected(with_context(length.error(), "str", obj));
  auto state = read_paged_value<std::uint32_t>(memory, obj + layout.state_offset);
  if (!state) return std::unexpected(with_context(state.error(), "str", obj));

  DecodedString out;
  out.kind = static_cast<int>((*state >> layout.kind_shift) & 7);
  bool compact = (*state >> layout.compact_shift) & 1;
  out.ascii = (*state >> layout.ascii_shift) & 1;
  if (out.kind != 1 && out.kind != 2 && out.kind != 4) {
    // Kind 0 is PyUnicode_WCHAR_KIND (3.8-3.11): a str not made ready yet.
    return fail(
        ErrorCode::kCorruptData,
        fmt::format("str at {:#x}: kind {} is not 1, 2 or 4", obj.as_int(), out.kind));
  }
  if (out.ascii && out.kind != 1)
    return fail(
        ErrorCode::kCorruptData,
        fmt::format("str at {:#x}: ASCII flag on kind {}", obj.as_int(), out.kind));
  // PyUnicode_New refuses lengths whose buffer would overflow Py_ssize_t.
  std::int64_t max_length = (std::numeric_limits<std::int64_t>::max() -
                             static_cast<std::int64_t>(layout.compact_size)) /
                                out.kind -
                            1;
  if (*length < 0 || *length > max_length)
    return fail(ErrorCode::kCorruptData,
                fmt::format("str at {:#x}: impossible length {}", obj.as_int(), *length));
  out.length = static_cast<std::uint64_t>(*length);
  std::uint64_t n = std::min<std::uint64_t>(out.length, max_chars);
  out.truncated = n < out.length;
  if (n == 0) return out;

  RemoteAddr data;
  if (compact) {
    data = obj + (out.ascii ? layout.ascii_size : layout.compact_size);
  } else {
    auto pointer =
        read_paged_value<std::uint64_t>(memory, obj + layout.legacy_data_offset);
    if (!pointer) return std::unexpected(with_context(pointer.error(), "str", obj));
    if (*pointer == 0)
      return fail(ErrorCode::kCorruptData,
                  fmt::format("str at {:#x}: non-compact with no data", obj.as_int()));
    data = RemoteAddr(*pointer);
  }

  const std::uint64_t total = n * static_cast<std::uint64_t>(out.kind);
  std::vector<std::byte> chunk;
  out.utf8.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(total, kChunk)));
  for (std::uint64_t done = 0; done < total;) {
    std::size_t take =
        static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, total - done));
    chunk.resize(take);
    if (auto r = read_paged(memory, data + done, chunk); !r)
      return std::unexpected(with_context(r.error(), "str data", data + done));
    for (std::size_t i = 0; i < take / static_cast<std::size_t>(out.kind); ++i)
      append_utf8(out.utf8, code_unit(chunk, i, out.kind));
    done += take;
  }
  return out;
}

Result<DecodedBytes> read_bytes_object(const RemoteMemory& memory, RemoteAddr obj,
                                       const BytesLayout& layout, std::size_t max_len) {
  auto size = read_paged_value<std::int64_t>(memory, obj + layout.size_offset);
  if (!size) return std::unexpected(with_context(size.error(), "bytes", obj));
  if (*size < 0)
    return fail(ErrorCode::kCorruptData,
                fmt::format("bytes at {:#x}: negative size {}", obj.as_int(), *size));
  DecodedBytes out;
  out.length = static_cast<std::uint64_t>(*size);
  std::uint64_t n = std::min<std::uint64_t>(out.length, max_len);
  out.truncated = n < out.length;
  RemoteAddr data = obj + layout.sval_offset;
  std::vector<std::byte> chunk;
  for (std::uint64_t done = 0; done < n;) {
    std::size_t take =
        static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, n - done));
    chunk.resize(take);
    if (auto r = read_paged(memory, data + done, chunk); !r)
      return std::unexpected(with_context(r.error(), "bytes data", data + done));
    out.data.append(reinterpret_cast<const char*>(chunk.data()), take);
    done += take;
  }
  return out;
}

}  // namespace pyattach::cpython
