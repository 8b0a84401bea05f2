#include "source_files.h"

#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace pyattach::cli {
namespace {

constexpr std::streamoff kMaxSourceBytes = 64 << 20;

std::optional<std::string> slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  in.seekg(0, std::ios::end);
  std::streamoff size = in.tellg();
  if (size < 0 || size > kMaxSourceBytes) return std::nullopt;
  in.seekg(0);
  std::string data(static_cast<std::size_t>(size), '\0');
  if (!in.read(data.data(), size)) return std::nullopt;
  return data;
}

// A line at a time (not a character at a time): py-bt reads threading.py,
// ~1,700 lines, on every run.
std::vector<std::string> split_universal_newlines(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t end = text.find_first_of("\r\n", start);
    if (end == std::string::npos) {
      lines.emplace_back(text, start);
      break;
    }
    lines.emplace_back(text, start, end - start);
    start = end + 1;
    if (text[end] == '\r' && start < text.size() && text[start] == '\n') ++start;
  }
  return lines;
}

}  // namespace

const std::vector<std::string>* SourceFiles::load(const std::string& filename) {
  auto [it, inserted] = files_.try_emplace(filename);
  if (inserted && !filename.empty() && filename.find('\0') == std::string::npos) {
    std::string via_proc = filename[0] == '/'
                               ? fmt::format("/proc/{}/root{}", pid_, filename)
                               : fmt::format("/proc/{}/cwd/{}", pid_, filename);
    auto text = slurp(via_proc);
    if (text) it->second = split_universal_newlines(*text);
  }
  return it->second ? &*it->second : nullptr;
}

std::optional<std::string> SourceFiles::line(const std::string& filename, int lineno) {
  const auto* lines = load(filename);
  if (!lines || lineno < 1 || static_cast<std::size_t>(lineno) > lines->size())
    return std::nullopt;
  return (*lines)[static_cast<std::size_t>(lineno) - 1];
}

}  // namespace pyattach::cli
