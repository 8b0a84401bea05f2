// Glue between the layers: find the interpreter in a process, learn its
// layout (all file work, before the target is stopped), then capture a
// snapshot while it is stopped.
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <sys/user.h>

#include "attach/live_memory.h"
#include "core/caching_memory.h"
#include "attach/stopped_process.h"
#include "attach/unwinder.h"
#include "core/proc_maps.h"
#include "core/result.h"
#include "cpython/gil.h"
#include "cpython/offsets.h"
#include "cpython/python_stack.h"
#include "cpython/runtime_locator.h"
#include "cpython/snapshot.h"
#include "symbols/dwarf_layouts.h"
#include "symbols/module_symbolizer.h"

namespace pyattach::cli {

struct Interpreter {
  std::string module_path;  // libpython or the executable, as the target names it
  cpython::PythonVersion version;
  RemoteAddr runtime;       // &_PyRuntime
  cpython::RuntimeFoundBy runtime_found_by = cpython::RuntimeFoundBy::kPyRuntimeSection;
  std::string debug_file;   // host path of its separate debug file, if one is used
  RemoteAddr cfunction_type, cmethod_type;
};

// Where the CPython offsets come from (--offsets-from). kAuto: DWARF of the
// interpreter or its separate debug file, else the target's _Py_DebugOffsets
// (3.13+), else the built-in table.
enum class OffsetsFrom { kAuto, kDwarf, kDebugOffsets, kTable };
// "auto", "dwarf", "debug-offsets", "table"; nullopt for anything else.
std::optional<OffsetsFrom> parse_offsets_from(std::string_view text);

// What is read while the target's threads are stopped: registers, and the
// memory that the unwinder and the Python frame walk need, which stays in the
// page cache (PreparedTarget::memory()) for everything done after the release.
struct StoppedCapture {
  struct Thread {
    pid_t tid = 0;
    user_regs_struct regs{};
    RemoteAddr tstate;
    cpython::PythonStack stack;
    // The GIL of its interpreter, read while stopped; nullopt if unreadable.
    std::optional<cpython::GilState> gil;
  };
  std::vector<Thread> threads;
  // The code objects the stacks refer to, read while stopped; the stacks'
  // names and lines are decoded from them after the release.
  cpython::CodeCache codes;
  std::string error;  // non-empty: the thread states could not be read
  ErrorCode error_code = ErrorCode::kInternal;
  // --stats: where the reading time went.
  double stacks_ms = 0;  // the batched copy of every thread's stack
  double states_ms = 0;  // the lists of thread states
  double frame_pages_ms = 0;  // matching threads to states, GILs, the frame pages' batch
  double frames_ms = 0;       // walking the Python frame chains
};

// Times and counts for --stats.
struct PrepareTimes {
  double symbols_ms = 0;  // /proc maps, ELF symbol tables
  double offsets_ms = 0;  // DWARF, the offsets cache, or a table
  bool offsets_cached = false;
};

// Everything learned about a process before stopping it.
class PreparedTarget {
 public:
  // Fails with kNoSuchProcess, kNotPython, kUnsupportedVersion or kDebugInfo
  // (also when `from` names a source that is unavailable for this target).
  static Result<std::unique_ptr<PreparedTarget>> prepare(
      pid_t pid, OffsetsFrom from = OffsetsFrom::kAuto, bool use_offsets_cache = true);

  pid_t pid() const { return pid_; }
  const Interpreter& interpreter() const { return interpreter_; }
  const cpython::Offsets& offsets() const { return offsets_; }
  const symbols::ModuleSymbolizer& symbols() const { return symbols_; }
  // The page cache every read of the target goes through after prepare().
  const RemoteMemory& memory() const { return cache_; }
  CachingMemory& cache() { return cache_; }
  const attach::LiveMemory& live_memory() const { return memory_; }
  std::string_view offsets_source() const { return offsets_source_; }
  const PrepareTimes& prepare_times() const { return times_; }
  // The file the DWARF offsets were read from (the interpreter or its
  // separate debug file); empty when they came from elsewhere.
  const std::string& dwarf_file() const { return dwarf_file_; }

  // Before a stop whose snapshot is built while the target is still stopped
  // (value commands, JSON, the prompt): every symbol table read now, so that
  // nothing reads a file during the pause. Counted in prepare_times().
  void index_all_symbols();

  // Just before each stop: empties the page cache and faults in room for the
  // pages read while stopped (sized by the current thread count), so that
  // filling it costs no page faults during the pause.
  void before_stop();
  // While the process is stopped: thread states, every thread's stack (in
  // one batch) and Python frame chain. Only memory reads; nothing else.
  // Call before_stop() before stopping.
  StoppedCapture read_stopped(const attach::StoppedProcess& stopped);
  // After the release (or still stopped, at the prompt): thread names, native
  // unwinding from the captured stacks, symbols, C/Python frame mapping.
  Result<cpython::ProcessSnapshot> build_snapshot(StoppedCapture capture) const;
  // --nonblocking: the Python stacks of every thread read while the target
  // runs (no ptrace, no pause), as py-spy does. Each attempt reads every
  // thread twice and compares (thread states, frame addresses, code objects,
  // lines); up to max_attempts attempts. Threads still changing after the
  // last one are listed in `inconsistent_tids` (their stacks may be torn).
  // No registers: no native frames; each thread gets one synthetic eval frame
  // holding all its Python frames, so py-bt works and bt cannot.
  struct NonblockingResult {
    cpython::ProcessSnapshot snapshot;
    int attempts = 0;
    std::vector<pid_t> inconsistent_tids;
  };
  Result<NonblockingResult> read_nonblocking(int max_attempts) const;

  // True for memory that cannot change while the target runs (read-only file
  // mappings known before the stop): safe to read after the release.
  bool is_immutable(RemoteAddr addr) const;

 private:
  explicit PreparedTarget(pid_t pid) : pid_(pid), memory_(pid), cache_(memory_) {}
  // Fills offsets_ and offsets_source_ from the source `from` selects.
  Result<void> load_offsets(OffsetsFrom from, const symbols::LoadedModule& module,
                            bool use_cache);
  pid_t pid_;
  attach::LiveMemory memory_;
  CachingMemory cache_;
  PrepareTimes times_;
  std::vector<MemoryMapping> maps_;
  symbols::ModuleSymbolizer symbols_;
  Interpreter interpreter_;
  std::unique_ptr<symbols::DwarfLayouts> layouts_;
  cpython::Offsets offsets_;
  std::string offsets_source_;
  std::vector<attach::UnwindTableLocation> unwind_tables_;
  // The target lives in a PID namespace below ours (NSpid has several
  // entries): 3.11+ records thread ids as the target sees them.
  bool in_child_pid_namespace_ = false;
  std::string dwarf_file_;
};

// Re-describes every thread's system call with its fds named from
// /proc/PID/fd ("read(fd=7 -> socket:[12345])"). Needs no stop: call it
// after the target runs again, so the pause stays short (an fd closed
// meanwhile keeps its bare number).
void name_syscall_fds(cpython::ProcessSnapshot& snapshot);

}  // namespace pyattach::cli
