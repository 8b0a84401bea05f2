// OffsetsCache: round trip, validation of every line, atomic store, unwritable directory.
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "cpython/offsets_cache.h"
#include "cpython/offsets_table.h"

using namespace pyattach;
using namespace pyattach::cpython;

namespace {

Offsets sample() {
  auto o = TableOffsetsSource().load(PythonVersion{3, 12, 1});
  REQUIRE(o);
  return *o;
}

std::filesystem::path temp_dir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "pyattach-cache-XXXXXX").string();
  REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
  return tmpl;
}

}  // namespace

TEST_CASE("OffsetsCache round-trips every field, kAbsent included") {
  const Offsets o = sample();
  const std::string id = "f9d5c82f5f2c22df68c1d49c944ef3dee5103dcc";
  auto text = OffsetsCache::serialize(id, o);
  auto back = OffsetsCache::parse(text, id, o.version);
  REQUIRE(back);
  CHECK(compare_offsets(o, *back).empty());
  CHECK(text.find(" absent\n") != std::string::npos);  // 3.12 lacks <=3.10 fields
}

TEST_CASE("OffsetsCache rejects files that do not match or are damaged") {
  const Offsets o = sample();
  const std::string id = "ab12";
  const std::string good = OffsetsCache::serialize(id, o);
  CHECK_FALSE(OffsetsCache::parse(good, "ab13", o.version));               // other build
  CHECK_FALSE(OffsetsCache::parse(good, id, PythonVersion{3, 12, 2}));     // other version
  CHECK_FALSE(OffsetsCache::parse(good.substr(0, good.size() / 2), id, o.version));  // cut
  std::string other_format = good;
  const std::string this_format = fmt::format(" {}\n", OffsetsCache::kFormatVersion);
  other_format.replace(other_format.find(this_format), this_format.size(),
                       fmt::format(" {}\n", OffsetsCache::kFormatVersion + 1));
  CHECK_FALSE(OffsetsCache::parse(other_format, id, o.version));
  std::string bad_value = good;
  auto at = bad_value.find("tstate.next ");
  REQUIRE(at != std::string::npos);
  bad_value.insert(at + 12, "x");
  CHECK_FALSE(OffsetsCache::parse(bad_value, id, o.version));
  std::string duplicated = good;
  duplicated.insert(duplicated.find("tstate.next "), "tstate.next 8\n");
  CHECK_FALSE(OffsetsCache::parse(duplicated, id, o.version));
  std::string huge = good;
  at = huge.find("tstate.next ");
  huge.replace(at, huge.find('\n', at) - at, "tstate.next 99999999999");
  CHECK_FALSE(OffsetsCache::parse(huge, id, o.version));
  CHECK_FALSE(OffsetsCache::parse("", id, o.version));
}

TEST_CASE("OffsetsCache stores atomically and survives an unwritable directory") {
  const Offsets o = sample();
  const auto dir = temp_dir();
  OffsetsCache cache(dir / "sub");
  const std::string id = "0123abcd";
  CHECK_FALSE(cache.load(id, o.version));
  REQUIRE(cache.store(id, o));
  auto loaded = cache.load(id, o.version);
  REQUIRE(loaded);
  CHECK(compare_offsets(o, *loaded).empty());
  // No temporary file is left behind.
  int files = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir / "sub")) ++files;
  CHECK(files == 1);
  // A build ID that is not hex never names a file.
  CHECK_FALSE(cache.store("../evil", o));
  CHECK_FALSE(cache.load("../evil", o.version));
  // A directory that cannot be created: an error, not a crash.
  std::ofstream(dir / "file") << "x";
  OffsetsCache blocked(dir / "file" / "sub");
  CHECK_FALSE(blocked.store(id, o));
  CHECK_FALSE(blocked.load(id, o.version));
  std::filesystem::remove_all(dir);
}

TEST_CASE("OffsetsCache::from_environment honours PYATTACH_NO_CACHE and XDG_CACHE_HOME") {
  ::unsetenv("PYATTACH_CACHE_DIR");
  ::setenv("PYATTACH_NO_CACHE", "1", 1);
  CHECK_FALSE(OffsetsCache::from_environment());
  ::unsetenv("PYATTACH_NO_CACHE");
  ::setenv("XDG_CACHE_HOME", "/tmp/xdg-test", 1);
  auto c = OffsetsCache::from_environment();
  REQUIRE(c);
  CHECK(c->directory() == std::filesystem::path("/tmp/xdg-test/pyattach"));
  ::unsetenv("XDG_CACHE_HOME");
}
