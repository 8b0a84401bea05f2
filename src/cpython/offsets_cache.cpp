#include "cpython/offsets_cache.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <system_error>
#include <unordered_map>

#include <fmt/format.h>

#include "core/log.h"

namespace pyattach::cpython {
namespace {

constexpr std::string_view kMagic = "pyattach-offsets";
constexpr std::size_t kMaxFileBytes = 64 * 1024;  // a real file is ~4 KiB

bool env_set(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && v[0] != '\0' && std::strcmp(v, "0") != 0;
}

// Build IDs are hex; anything else would let a crafted name escape the directory.
bool valid_build_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

std::string_view next_line(std::string_view& text) {
  auto nl = text.find('\n');
  std::string_view line = text.substr(0, nl);
  text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
  return line;
}

// "key value" with exactly one space.
bool split_line(std::string_view line, std::string_view& key, std::string_view& value) {
  auto sp = line.find(' ');
  if (sp == std::string_view::npos || sp == 0) return false;
  key = line.substr(0, sp);
  value = line.substr(sp + 1);
  return !value.empty() && value.find(' ') == std::string_view::npos;
}

template <class T>
bool parse_number(std::string_view text, T& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

}  // namespace

std::optional<OffsetsCache> OffsetsCache::from_environment() {
  if (env_set("PYATTACH_NO_CACHE")) return std::nullopt;
  if (const char* dir = std::getenv("PYATTACH_CACHE_DIR"); dir && dir[0] == '/')
    return OffsetsCache(dir);
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && xdg[0] == '/')
    return OffsetsCache(std::filesystem::path(xdg) / "pyattach");
  if (const char* home = std::getenv("HOME"); home && home[0] == '/')
    return OffsetsCache(std::filesystem::path(home) / ".cache" / "pyattach");
  return std::nullopt;
}

std::filesystem::path OffsetsCache::file_for(std::string_view build_id) const {
  return directory_ / fmt::format("offsets-{}.txt", build_id);
}

std::string OffsetsCache::serialize(std::string_view build_id, const Offsets& offsets) {
  std::string out = fmt::format("{} {}\nbuild-id {}\npython {}\n", kMagic, kFormatVersion,
                                build_id, offsets.version.to_string());
  std::size_t count = 0;
  for_each_field(offsets, [&](std::string_view name, const auto& value) {
    using T = std::remove_cvref_t<decltype(value)>;
    if constexpr (std::is_same_v<T, std::uint64_t>) {
      if (value == kAbsent) {
        out += fmt::format("{} absent\n", name);
        ++count;
        return;
      }
    }
    out += fmt::format("{} {}\n", name, value);
    ++count;
  });
  out += fmt::format("end {}\n", count);
  return out;
}

Result<Offsets> OffsetsCache::parse(std::string_view text, std::string_view build_id,
                                    const PythonVersion& version) {
  auto bad = [](std::string why) { return fail(ErrorCode::kDebugInfo, std::move(why)); };
  std::string_view key, value;
  if (!split_line(next_line(text), key, value) || key != kMagic)
    return bad("not a pyattach offsets file");
  if (value != std::to_string(kFormatVersion))
    return bad(fmt::format("format {} (this pyattach writes {})", value, kFormatVersion));
  if (!split_line(next_line(text), key, value) || key != "build-id" || value != build_id)
    return bad("build ID does not match");
  if (!split_line(next_line(text), key, value) || key != "python" ||
      value != version.to_string())
    return bad("Python version does not match");

  std::unordered_map<std::string_view, std::string_view> fields;
  std::optional<std::size_t> end_count;
  while (!text.empty()) {
    std::string_view line = next_line(text);
    if (end_count) return bad("text after the end line");
    if (!split_line(line, key, value)) return bad(fmt::format("malformed line '{}'", line));
    if (key == "end") {
      std::size_t n = 0;
      if (!parse_number(value, n)) return bad("malformed end line");
      end_count = n;
      continue;
    }
    if (!fields.emplace(key, value).second) return bad(fmt::format("{} twice", key));
  }
  if (!end_count) return bad("no end line (truncated file)");
  if (*end_count != fields.size()) return bad("field count does not match the end line");

  Offsets offsets;
  offsets.version = version;
  std::string error;
  std::size_t used = 0;
  for_each_field(offsets, [&](std::string_view name, auto& field) {
    if (!error.empty()) return;
    auto it = fields.find(name);
    if (it == fields.end()) {
      error = fmt::format("{} missing", name);
      return;
    }
    ++used;
    using T = std::remove_cvref_t<decltype(field)>;
    if constexpr (std::is_same_v<T, std::uint64_t>) {
      if (it->second == "absent") {
        field = kAbsent;
        return;
      }
    }
    T v{};
    if (!parse_number(it->second, v) || v < T{} ||
        static_cast<std::uint64_t>(v) > (std::uint64_t{1} << 20)) {
      // No CPython struct is a megabyte long: a larger offset is corruption.
      error = fmt::format("{}: bad value '{}'", name, it->second);
      return;
    }
    field = v;
  });
  if (!error.empty()) return bad(error);
  if (used != fields.size()) return bad("unknown fields (another pyattach version?)");
  return offsets;
}

std::optional<Offsets> OffsetsCache::load(std::string_view build_id,
                                          const PythonVersion& version) const {
  auto logger = log::get("cache");
  if (!valid_build_id(build_id)) return std::nullopt;
  const auto path = file_for(build_id);
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    logger->debug("no offsets cached for build ID {} ({})", build_id, path.string());
    return std::nullopt;
  }
  std::string text(kMaxFileBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > kMaxFileBytes) {
    logger->info("ignoring {}: too large", path.string());
    return std::nullopt;
  }
  auto offsets = parse(text, build_id, version);
  if (!offsets) {
    logger->info("ignoring {}: {}", path.string(), offsets.error().message);
    return std::nullopt;
  }
  logger->debug("offsets from cache {}", path.string());
  return *offsets;
}

Result<void> OffsetsCache::store(std::string_view build_id, const Offsets& offsets) const {
  if (!valid_build_id(build_id))
    return fail(ErrorCode::kInternal, fmt::format("invalid build ID '{}'", build_id));
  std::error_code ec;
  std::filesystem::create_directories(directory_, ec);
  if (ec)
    return fail(ErrorCode::kInternal,
                fmt::format("cannot create {}: {}", directory_.string(), ec.message()),
                ec.value());
  const std::string text = serialize(build_id, offsets);
  std::string tmp = (directory_ / fmt::format(".offsets-{}.XXXXXX", build_id)).string();
  int fd = ::mkostemp(tmp.data(), O_CLOEXEC);
  if (fd < 0)
    return fail(ErrorCode::kInternal,
                fmt::format("cannot write in {}: {}", directory_.string(), std::strerror(errno)),
                errno);
  bool ok = true;
  for (std::size_t done = 0; ok && done < text.size();) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += static_cast<std::size_t>(n);
  }
  const int write_errno = errno;
  ok = ::fchmod(fd, 0644) == 0 && ok;
  ok = ::close(fd) == 0 && ok;
  if (!ok || ::rename(tmp.c_str(), file_for(build_id).c_str()) != 0) {
    const int err = ok ? errno : write_errno;
    ::unlink(tmp.c_str());
    return fail(ErrorCode::kInternal,
                fmt::format("cannot write {}: {}", file_for(build_id).string(),
                            std::strerror(err)),
                err);
  }
  return {};
}

}  // namespace pyattach::cpython
