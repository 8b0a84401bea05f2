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
  // PyUnicodeObject.data.any: where a non-compact str keeps its characters.
  // Instances of str subclasses are non-compact in every version, 3.12+ too.
  std::uint64_t legacy_data_offset = 72;
  // Bit positions inside `state` (stable across 3.8-3.13: interned:2, kind:3,
  // compact:1, ascii:1, then ready:1 up to 3.11).
  int kind_shift = 2;
  int compact_shift = 5;
  int ascii_shift = 6;
};

// The layout of PyUnicodeObject in CPython 3.`minor` (x86-64). 3.8-3.11 share
// the defaults above; 3.12 removed wstr and wstr_length, so the ASCII header
// shrinks to 40 bytes and the compact one to 56. Minor versions outside 8-13
// get the nearest supported layout.
UnicodeLayout unicode_layout_for(int minor);

struct BytesLayout {
  std::uint64_t size_offset = 16;  // PyVarObject.ob_size
  std::uint64_t sval_offset = 32;  // PyBytesObject.ob_sval
};

// Decodes a str object at `obj` into UTF-8. Kinds 1/2/4 (UCS1, UCS2, UCS4),
// compact ASCII, compact and legacy forms (non-compact: instances of str
// subclasses in every version, PyUnicode_FromUnicode(NULL, n) up to 3.11). Lone
// surrogates and code points that are not valid Unicode are written as
// Python writes them in repr: \udxxx (\Uxxxxxxxx above U+10FFFF). At most
// max_chars code points are read; `truncated` is set when the string was
// longer. Fails with kCorruptData on an impossible kind (including 0, a
// 3.8-3.11 string that is not ready), an ASCII flag on a kind other than 1,
// a negative or impossibly large length, or a non-compact string whose data
// pointer is NULL; kBadRemoteAddress on unreadable memory. Reads page by page,
// so a string that ends on an unmapped page fails rather than reads short.
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
