// Offsets learned from DWARF, kept on disk per interpreter build ID, so that
// only the first run on a new interpreter pays for reading its debug info.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"
#include "cpython/offsets.h"

namespace pyattach::cpython {

// One text file per build ID under `directory`:
//   pyattach-offsets <kFormatVersion>
//   build-id <hex>
//   python <version>
//   <group.field> <decimal, or "absent">   (every field of Offsets, once each)
//   end <count of field lines>
// A file is used only if every line parses, the header, build ID and version
// match, and every field appears exactly once: anything else is ignored (and
// overwritten by the next store). Files are written to a temporary name and
// renamed, so a reader never sees half a file. Nothing here throws; an
// unwritable or missing directory only costs the cache.
class OffsetsCache {
 public:
  static constexpr int kFormatVersion = 3;  // 2: cfunction.vectorcall, type_slots.tp_call; 3: gil.*

  explicit OffsetsCache(std::filesystem::path directory) : directory_(std::move(directory)) {}

  // $PYATTACH_CACHE_DIR, else $XDG_CACHE_HOME/pyattach, else ~/.cache/pyattach;
  // nullopt when caching is off (PYATTACH_NO_CACHE set and not "0") or no
  // directory can be named (no HOME).
  static std::optional<OffsetsCache> from_environment();

  // nullopt if absent, unreadable or invalid (the reason goes to the debug log).
  std::optional<Offsets> load(std::string_view build_id, const PythonVersion& version) const;
  // Fails (kInternal, errno kept) when the directory cannot be created or
  // written; callers log and carry on.
  Result<void> store(std::string_view build_id, const Offsets& offsets) const;

  std::filesystem::path file_for(std::string_view build_id) const;
  const std::filesystem::path& directory() const { return directory_; }

  // The file format, exposed for tests.
  static std::string serialize(std::string_view build_id, const Offsets& offsets);
  static Result<Offsets> parse(std::string_view text, std::string_view build_id,
                               const PythonVersion& version);

 private:
  std::filesystem::path directory_;
};

}  // namespace pyattach::cpython
