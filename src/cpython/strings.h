// Reading str and bytes objects out of target memory.
#pragma once

#include <cstdint>
#include <string>

#include "core/remote_memory.h"
#include "core/result.h"

namespace pyattach::cpython {

// Where the fields of PyUnicodeObject live for one CPython version. All byte
// offsets from the object's start. Filled from DWARF or a table by the caller.
struct UnicodeLayout {
  std::uint64_t length_offset = 16;    // PyASCIIObject.length
  std::uint64_t state_offset = 32;     // PyASCIIObject.state (bitfield word)
  std::uint64_t ascii_size = 48;       // sizeof(PyASCIIObject): compact ASCII data follows
  std::uint64_t compact_size = 72;     // sizeof(PyCompactUnicodeObject): compact non-ASCII data
  std::uint64_t legacy_data_offset = 72;  // PyUnicodeObject.data.any (non-compact strings)
  // Bit positions inside `state` (stable across 3.8-3.13: interned:2, kind:3,
  // compact:1, ascii:1, then ready:1 up to 3.11).
  int kind_shift = 2;
  int compact_shift = 5;
  int ascii_shift = 6;
};

struct BytesLayout {
  std::uint64_t size_offset = 16;  // PyVarObject.ob_size
  std::uint64_t sval_offset = 32;  // PyBytesObject.ob_sval
};

// Decodes a str object at `obj` into UTF-8. Kinds 1/2/4 (UCS1, UCS2, UCS4),
// compact ASCII, compact and legacy (non-compact, 3.8-3.11) forms. Lone
// surrogates and code points that are not valid Unicode are written as
// Python writes them in repr: \udxxx. At most max_chars code points are read;
// `truncated` is set when the string was longer. Fails with kCorruptData on
// an impossible kind or negative length, kBadRemoteAddress on unreadable memory.
struct DecodedString {
  std::string utf8;
  std::uint64_t length = 0;  // code points in the whole string
  bool truncated = false;
  int kind = 1;              // 1, 2 or 4
  bool ascii = false;
};
Result<DecodedString> read_unicode(const RemoteMemory& memory, RemoteAddr obj,
                                   const UnicodeLayout& layout,
                                   std::size_t max_chars = 1 << 16);

// The bytes of a bytes object, at most max_len of them (`truncated` set if
// longer).
struct DecodedBytes {
  std::string data;
  std::uint64_t length = 0;
  bool truncated = false;
};
Result<DecodedBytes> read_bytes_object(const RemoteMemory& memory, RemoteAddr obj,
                                       const BytesLayout& layout,
                                       std::size_t max_len = 1 << 20);

}  // namespace pyattach::cpython
