// Line-table decoders. The formats and CPython's readers of them:
//   3.8/3.9  Objects/lnotab_notes.txt, PyCode_Addr2Line in Objects/codeobject.c
//   3.10     Objects/lnotab_notes.txt, PyLineTable_NextAddressRange
//   3.11+    Objects/locations.md (InternalDocs/ from 3.13),
//            _PyLineTable_NextAddressRange
#include "cpython/line_table.h"

#include <climits>
#include <cstdint>
#include <limits>

namespace pyattach::cpython {
namespace {

// The line table as CPython sees it: the bytes of a bytes object, which
// always has a NUL after its last byte. A malformed table can make CPython
// read that NUL (a varint whose last byte says "more follows", an odd-sized
// 3.10 table), so byte `size` reads as 0 here too. Every reader below stops
// before reading further.
class TableBytes {
 public:
  explicit TableBytes(std::span<const std::byte> table) : table_(table) {}
  std::size_t size() const { return table_.size(); }
  unsigned at(std::size_t i) const {
    return i < table_.size() ? std::to_integer<unsigned>(table_[i]) : 0u;
  }
  int signed_at(std::size_t i) const {
    unsigned b = at(i);
    return b >= 128 ? static_cast<int>(b) - 256 : static_cast<int>(b);
  }

 private:
  std::span<const std::byte> table_;
};

std::optional<int> to_line(std::int64_t line) {
  // CPython keeps lines in an int; a table that overflows one is corrupt.
  if (line < std::numeric_limits<int>::min() || line > std::numeric_limits<int>::max())
    return std::nullopt;
  return static_cast<int>(line);
}

// Walks the address ranges of a 3.10 or 3.11+ table the way CPython's
// PyCodeAddressRange does: start at [-1, 0) with no line, then next().
class RangeWalker {
 public:
  RangeWalker(LineTableFormat format, std::span<const std::byte> table, int firstlineno)
      : format_(format), table_(table), computed_line_(firstlineno) {}

  // The next non-empty range; false at the end of the table (or where a
  // malformed table would make CPython read past it).
  bool next() {
    if (pos_ >= table_.size()) return false;
    if (format_ == LineTableFormat::kLinetable310) {
      advance_310();
      // 3.10 skips zero-length entries (a line change with no code). CPython
      // only asserts that the table goes on; a release build reads past it.
      while (start_ == end_) {
        if (pos_ >= table_.size()) return false;
        advance_310();
      }
    } else {
      advance_location();
    }
    // Offsets are ints in CPython; a table claiming more code is corrupt.
    return end_ <= std::numeric_limits<int>::max();
  }

  std::int64_t start() const { return start_; }
  std::int64_t end() const { return end_; }
  std::optional<int> line() const {
    if (!has_line_) return std::nullopt;
    return to_line(computed_line_);
  }

 private:
  // 3.10: (unsigned bytecode delta in bytes, signed line delta) pairs; a line
  // delta of -128 means "no line" and leaves the running line unchanged.
  void advance_310() {
    start_ = end_;
    end_ += table_.at(pos_);
    int line_delta = table_.signed_at(pos_ + 1);
    pos_ += 2;
    if (line_delta == -128) {
      has_line_ = false;
    } else {
      computed_line_ += line_delta;
      has_line_ = true;
    }
  }

  // 3.11+: an entry starts with a byte 1CCCCLLL (C: code, L: length - 1 in
  // code units) followed by varints. Only codes 13 and 14 carry a line delta
  // as a varint; 10-12 encode it in the code; 15 has no location at all.
  void advance_location() {
    unsigned first = table_.at(pos_);
    unsigned code = (first >> 3) & 15;
    int line_delta = 0;
    switch (code) {
      case 13:  // no columns
      case 14:  // long form: line delta first, then end line and columns
        line_delta = read_signed_varint(pos_ + 1);
        break;
      case 10:
      case 11:
      case 12:  // one-line forms: line delta is code - 10
        line_delta = static_cast<int>(code) - 10;
        break;
      default:  // short forms 0-9 (same line) and 15 (none)
        break;
    }
    computed_line_ += line_delta;
    // CPython tests the whole byte (high bit and code 15), not just the code.
    has_line_ = (first >> 3) != 0x1f;
    start_ = end_;
    end_ += static_cast<std::int64_t>((first & 7) + 1) * 2;
    // The next entry is the next byte with the high bit set, whatever the
    // varints of this one said.
    do {
      ++pos_;
    } while (pos_ < table_.size() && (table_.at(pos_) & 128) == 0);
  }

  // 6 bits per byte, least significant first; bit 6 says another follows.
  // CPython accumulates into an unsigned int; bits shifted past 32 are lost
  // here (undefined behaviour there, never produced by the compiler).
  std::uint32_t read_varint(std::size_t pos) const {
    unsigned read = table_.at(pos++);
    std::uint32_t value = read & 63;
    unsigned shift = 0;
    // Terminates: past the table at() yields 0, which has no "more" bit.
    while (read & 64) {
      read = table_.at(pos++);
      shift += 6;
      if (shift < 32) value |= static_cast<std::uint32_t>(read & 63) << shift;
    }
    return value;
  }
  int read_signed_varint(std::size_t pos) const {
    std::uint32_t u = read_varint(pos);
    int magnitude = static_cast<int>(u >> 1);
    return (u & 1) ? -magnitude : magnitude;
  }

  LineTableFormat format_;
  TableBytes table_;
  std::size_t pos_ = 0;
  std::int64_t start_ = -1;
  std::int64_t end_ = 0;
  std::int64_t computed_line_;
  bool has_line_ = false;
};

// 3.8/3.9 PyCode_Addr2Line: walk (addr delta, line delta) pairs while the
// address stays <= addrq. It never answers -1: past the table, the last line
// holds. An odd trailing byte is ignored (CPython uses size / 2 pairs).
std::optional<int> lnotab_addr_to_line(const TableBytes& table, int firstlineno,
                                       int addrq) {
  std::int64_t line = firstlineno;
  std::int64_t addr = 0;
  for (std::size_t i = 0; i + 1 < table.size(); i += 2) {
    addr += table.at(i);
    if (addr > addrq) break;
    // Signed since 3.6 (lnotab_notes.txt).
    line += table.signed_at(i + 1);
  }
  return to_line(line);
}

// What dis.findlinestarts() yields on 3.8/3.9, as ranges. It reports a line
// at the address where its first non-empty entry starts, skipping repeats.
std::vector<LineRange> lnotab_ranges(const TableBytes& table, int firstlineno,
                                     std::size_t max_entries) {
  std::vector<LineRange> out;
  std::optional<std::int64_t> last_line;
  std::int64_t line = firstlineno;
  std::int64_t addr = 0;
  auto emit = [&]() {
    if (!out.empty()) out.back().end = static_cast<int>(addr);
    out.push_back(LineRange{static_cast<int>(addr), INT_MAX, to_line(line)});
    last_line = line;
  };
  for (std::size_t i = 0; i + 1 < table.size(); i += 2) {
    unsigned addr_delta = table.at(i);
    if (addr_delta != 0) {
      if (line != last_line) {
        if (out.size() >= max_entries) return out;
        emit();
      }
      addr += addr_delta;
      if (addr > std::numeric_limits<int>::max()) return out;
    }
    line += table.signed_at(i + 1);
  }
  if (line != last_line && out.size() < max_entries) emit();
  return out;
}

}  // namespace

std::optional<int> addr_to_line(LineTableFormat format, std::span<const std::byte> table,
                                int firstlineno, int addrq) {
  if (format == LineTableFormat::kLnotab)
    return lnotab_addr_to_line(TableBytes(table), firstlineno, addrq);
  // 3.10+ answer firstlineno for a frame that has not started (f_lasti -1).
  if (addrq < 0) return firstlineno;
  // _PyCode_CheckLineNumber from a fresh range: ranges are contiguous from
  // offset 0, so only its forward loop can run.
  RangeWalker walker(format, table, firstlineno);
  while (walker.end() <= addrq) {
    if (!walker.next()) return std::nullopt;
  }
  return walker.line();
}

std::vector<LineRange> decode_line_ranges(LineTableFormat format,
                                          std::span<const std::byte> table,
                                          int firstlineno, std::size_t max_entries) {
  if (format == LineTableFormat::kLnotab)
    return lnotab_ranges(TableBytes(table), firstlineno, max_entries);
  std::vector<LineRange> out;
  RangeWalker walker(format, table, firstlineno);
  while (out.size() < max_entries && walker.next()) {
    out.push_back(LineRange{static_cast<int>(walker.start()),
                            static_cast<int>(walker.end()), walker.line()});
  }
  return out;
}

std::vector<LineRange> merge_same_line(std::span<const LineRange> ranges) {
  std::vector<LineRange> out;
  for (const LineRange& r : ranges) {
    if (!out.empty() && out.back().line == r.line && out.back().end == r.start) {
      out.back().end = r.end;
    } else {
      out.push_back(r);
    }
  }
  return out;
}

}  // namespace pyattach::cpython
