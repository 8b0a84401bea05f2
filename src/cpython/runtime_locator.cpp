#include "cpython/runtime_locator.h"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "core/log.h"
#include "cpython/debug_offsets.h"

namespace pyattach::cpython {
namespace {

constexpr std::string_view kCookie = "xdebugpy";
constexpr std::uint64_t kPage = 4096;

bool named_like_python(const std::string& path) {
  auto slash = path.rfind('/');
  std::string_view base = slash == std::string::npos ? std::string_view(path)
                                                     : std::string_view(path).substr(slash + 1);
  return base.find("python") != std::string_view::npos;
}

// The start of the header every _Py_DebugOffsets (3.13, 3.14, ...) shares.
struct DebugOffsetsPrefix {
  char cookie[8];
  std::uint64_t version;
  std::uint64_t free_threaded;
  std::uint64_t runtime_state_size;
};

// Scans [range) for validated headers, appending candidates of `module`.
// Returns the bytes read.
std::uint64_t scan_range(const RemoteMemory& memory, const AddressRange& range,
                         std::size_t module, std::uint64_t budget,
                         const RuntimeScanLimits& limits, std::vector<RuntimeCandidate>& out) {
  std::uint64_t start = (range.start + 7) & ~std::uint64_t{7};
  const std::uint64_t end = std::min(range.end(), range.start + budget);
  std::uint64_t read_bytes = 0;
  std::vector<std::byte> buffer;
  for (std::uint64_t at = start; at + kCookie.size() <= end;) {
    std::uint64_t n = std::min(limits.chunk_bytes, end - at);
    buffer.resize(n);
    if (!memory.read(RemoteAddr(at), buffer)) {
      // Part of the range is unreadable (a guard page?): skip a page.
      at = (at / kPage + 1) * kPage;
      continue;
    }
    read_bytes += n;
    for (std::uint64_t off = 0; off + kCookie.size() <= n; off += 8) {
      if (std::memcmp(buffer.data() + off, kCookie.data(), kCookie.size()) != 0) continue;
      const RemoteAddr addr(at + off);
      if (auto version = read_debug_offsets_version(memory, addr))
        out.push_back({module, addr, RuntimeFoundBy::kDebugOffsetsCookie, *version});
      else
        log::get("cpython")->debug("\"xdebugpy\" at {:#x} is no valid _Py_DebugOffsets",
                                   addr.as_int());
    }
    at += n;
  }
  return read_bytes;
}

}  // namespace

std::string_view describe(RuntimeFoundBy how) {
  switch (how) {
    case RuntimeFoundBy::kPyRuntimeSection: return "the .PyRuntime section";
    case RuntimeFoundBy::kDynamicSymbol: return "the _PyRuntime symbol in .dynsym";
    case RuntimeFoundBy::kSymbol: return "the _PyRuntime symbol in .symtab";
    case RuntimeFoundBy::kDebugOffsetsCookie: return "a _Py_DebugOffsets header found in memory";
  }
  return "?";
}

std::optional<PythonVersion> read_debug_offsets_version(const RemoteMemory& memory,
                                                        RemoteAddr addr) {
  auto prefix = memory.read_value<DebugOffsetsPrefix>(addr);
  if (!prefix || std::memcmp(prefix->cookie, kCookie.data(), kCookie.size()) != 0)
    return std::nullopt;
  if ((prefix->version >> 32) != 0) return std::nullopt;
  const auto version = PythonVersion::from_hex(static_cast<std::uint32_t>(prefix->version));
  if (version.major != 3 || version.minor < 13 || version.minor > 99) return std::nullopt;
  if (prefix->free_threaded > 1) return std::nullopt;
  if (prefix->runtime_state_size < sizeof(py313::DebugOffsets) ||
      prefix->runtime_state_size > kMaxDebugOffsetsStructSize)
    return std::nullopt;
  if (version.is(3, 13)) {
    // The layout we model: every size and offset must check out.
    auto header = memory.read_value<py313::DebugOffsets>(addr);
    // A free-threaded build fails this too: its layouts differ from the table's.
    if (!header || !validate_debug_offsets(*header, version)) return std::nullopt;
  }
  return version;
}

std::vector<RuntimeCandidate> find_runtime_candidates(std::span<const ModuleImage> modules,
                                                      const RemoteMemory& memory,
                                                      const RuntimeScanLimits& limits) {
  auto logger = log::get("cpython");
  std::vector<RuntimeCandidate> out;
  for (std::size_t i = 0; i < modules.size(); ++i) {
    const ModuleImage& m = modules[i];
    const RuntimeFoundBy by_symbol =
        m.runtime_symbol_dynamic ? RuntimeFoundBy::kDynamicSymbol : RuntimeFoundBy::kSymbol;
    if (m.pyruntime_section && m.pyruntime_section->size > 0) {
      if (m.runtime_symbol && *m.runtime_symbol != m.pyruntime_section->start)
        logger->warn("{}: _PyRuntime symbol at {:#x} but the .PyRuntime section at {:#x}; "
                     "using the section",
                     m.path, *m.runtime_symbol, m.pyruntime_section->start);
      out.push_back({i, RemoteAddr(m.pyruntime_section->start + m.bias),
                     RuntimeFoundBy::kPyRuntimeSection, std::nullopt});
    } else if (m.runtime_symbol) {
      out.push_back({i, RemoteAddr(*m.runtime_symbol + m.bias), by_symbol, std::nullopt});
    }
  }
  if (!out.empty()) return out;

  std::uint64_t budget = limits.max_bytes;
  for (const bool python_named : {true, false}) {
    for (std::size_t i = 0; i < modules.size() && budget > 0; ++i) {
      if (named_like_python(modules[i].path) != python_named) continue;
      for (const auto& range : modules[i].writable) {
        if (budget == 0) break;
        budget -= std::min(budget, scan_range(memory, range, i, budget, limits, out));
      }
    }
    if (!out.empty()) break;
  }
  if (budget == 0)
    logger->warn("stopped scanning for _Py_DebugOffsets after {} bytes", limits.max_bytes);
  return out;
}

std::optional<std::size_t> choose_live_runtime(
    std::span<const RuntimeCandidate> candidates, const RemoteMemory& memory,
    const std::function<std::optional<std::uint64_t>(const RuntimeCandidate&)>& head_offset) {
  if (candidates.empty()) return std::nullopt;
  if (candidates.size() == 1) return 0;
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    auto offset = head_offset(candidates[i]);
    if (!offset) continue;
    auto head = memory.read_pointer(candidates[i].address + *offset);
    if (head && !head->is_null()) {
      log::get("cpython")->info("{} runtimes mapped; #{} at {:#x} is initialised",
                                candidates.size(), i + 1, candidates[i].address.as_int());
      return i;
    }
  }
  log::get("cpython")->warn("{} runtimes mapped and none initialised; using the first",
                            candidates.size());
  return 0;
}

}  // namespace pyattach::cpython
