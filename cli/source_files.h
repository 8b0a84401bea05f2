// Source lines of the target's Python files, read as the target sees them.
#pragma once

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace pyattach::cli {

// Opens absolute paths through /proc/PID/root and relative ones through
// /proc/PID/cwd, so containers and a target's own working directory work.
// (python-gdb.py opens relative names from gdb's directory: wrong when the
// two differ.) Splits lines as Python's universal newlines do. Each file is
// read once; files over 64 MiB are not read.
class SourceFiles {
 public:
  explicit SourceFiles(pid_t pid) : pid_(pid) {}
  std::optional<std::string> line(const std::string& filename, int lineno);

 private:
  const std::vector<std::string>* load(const std::string& filename);
  pid_t pid_;
  std::map<std::string, std::optional<std::vector<std::string>>> files_;
};

}  // namespace pyattach::cli
