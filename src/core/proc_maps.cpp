#include "core/proc_maps.h"

#include <algorithm>
#include <charconv>

namespace pyattach {
namespace {

bool parse_hex(std::string_view& s, std::uint64_t& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out, 16);
  if (ec != std::errc() || p == s.data()) return false;
  s.remove_prefix(static_cast<std::size_t>(p - s.data()));
  return true;
}
bool parse_dec(std::string_view& s, std::uint64_t& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out, 10);
  if (ec != std::errc() || p == s.data()) return false;
  s.remove_prefix(static_cast<std::size_t>(p - s.data()));
  return true;
}
bool eat(std::string_view& s, char c) {
  if (s.empty() || s.front() != c) return false;
  s.remove_prefix(1);
  return true;
}
void skip_spaces(std::string_view& s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
}

// "7f00-7f10 r-xp 00001000 08:01 1234   /usr/lib/libpython3.12.so"
bool parse_line(std::string_view s, MemoryMapping& m) {
  std::uint64_t dev_major = 0, dev_minor = 0;
  if (!parse_hex(s, m.start) || !eat(s, '-') || !parse_hex(s, m.end) ||
      !eat(s, ' ') || s.size() < 4)
    return false;
  m.readable = s[0] == 'r';
  m.writable = s[1] == 'w';
  m.executable = s[2] == 'x';
  m.shared = s[3] == 's';
  s.remove_prefix(4);
  if (!eat(s, ' ') || !parse_hex(s, m.file_offset) || !eat(s, ' ') ||
      !parse_hex(s, dev_major) || !eat(s, ':') || !parse_hex(s, dev_minor) ||
      !eat(s, ' ') || !parse_dec(s, m.inode))
    return false;
  skip_spaces(s);
  m.path = std::string(s);
  return m.start <= m.end;
}

}  // namespace

Result<std::vector<MemoryMapping>> parse_proc_maps(std::string_view text) {
  std::vector<MemoryMapping> out;
  std::size_t line_no = 0;
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    ++line_no;
    if (line.empty()) continue;
    MemoryMapping m;
    if (!parse_line(line, m))
      return fail(ErrorCode::kCorruptData,
                  "malformed /proc/PID/maps line " + std::to_string(line_no) +
                      ": " + std::string(line.substr(0, 120)));
    out.push_back(std::move(m));
  }
  return out;
}

const MemoryMapping* find_mapping(const std::vector<MemoryMapping>& maps, std::uint64_t addr) {
  auto it = std::upper_bound(maps.begin(), maps.end(), addr,
                             [](std::uint64_t a, const MemoryMapping& m) { return a < m.start; });
  if (it == maps.begin() || !std::prev(it)->contains(addr)) return nullptr;
  return &*std::prev(it);
}

}  // namespace pyattach
