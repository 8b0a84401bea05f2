// Decoders of CPython's code-object line tables, from raw table bytes.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace pyattach::cpython {

enum class LineTableFormat {
  kLnotab,         // 3.8-3.9 co_lnotab: (byte offset delta, signed line delta) pairs
  kLinetable310,   // 3.10 co_linetable (PEP 626): (bytecode delta, line delta); -128 = no line
  kLocationTable,  // 3.11+ co_linetable: the location table (varint entries, code units)
};

// The line number of the instruction at byte offset `addrq` into co_code,
// exactly as CPython's PyCode_Addr2Line(co, addrq) computes it for that
// version; nullopt where CPython answers -1 (no line). Untrusted input: never
// reads outside `table`, bounded by its size. A negative addrq gives
// firstlineno, as in every version. Where a malformed table ends inside an
// entry, CPython reads the NUL that ends every bytes object; we read a 0 too,
// and stop where CPython would read further.
//   3.8/3.9: addrq = f_lasti (already a byte offset)
//   3.10:    addrq = f_lasti * 2 (f_lasti counts code units)
//   3.11+:   addrq = (instruction pointer - first code unit) in bytes
std::optional<int> addr_to_line(LineTableFormat format,
                                std::span<const std::byte> table,
                                int firstlineno, int addrq);

// One entry of a decoded table: byte offsets [start, end) map to `line`
// (nullopt = no line). What co_lines() yields, for tests and py-list.
struct LineRange {
  int start = 0;
  int end = 0;
  std::optional<int> line;

  bool operator==(const LineRange&) const = default;
};
// Bounded to max_entries entries.
//   3.8/3.9: the line starts dis.findlinestarts() yields, as ranges (equal
//            neighbours merged, as findlinestarts does). The table does not
//            know the code size, so the last range ends at INT_MAX.
//   3.10, 3.11: every address range of the table, exactly what co_lines()
//            yields in those versions (zero-length 3.10 entries skipped).
//   3.12+:   co_lines() also merges neighbours with the same line; apply
//            merge_same_line() to the result to get exactly that.
// A malformed table yields the ranges decoded before the damage.
std::vector<LineRange> decode_line_ranges(LineTableFormat format,
                                          std::span<const std::byte> table,
                                          int firstlineno,
                                          std::size_t max_entries = 1 << 20);

// Merges neighbouring ranges that have the same line (nullopt included), as
// co_lines() does from CPython 3.12 on.
std::vector<LineRange> merge_same_line(std::span<const LineRange> ranges);

}  // namespace pyattach::cpython
