// What one pyattach session knows and has selected: the prepared target, the
// stopped process (while it is stopped), the snapshot, the selected thread
// and frame. Shared by one-shot use, -ex and the prompt.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <ostream>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "attach/stopped_process.h"
#include "cpython/snapshot.h"
#include "cpython/values.h"
#include "render/backtrace.h"
#include "run_stats.h"
#include "source_files.h"
#include "target.h"

namespace pyattach::cli {

struct Selection {
  std::size_t thread = 0;  // index into snapshot().threads
  std::size_t frame = 0;   // index into that thread's native frames (gdb's #N)
};

class Session {
 public:
  Session(PreparedTarget& target, std::ostream& out, std::ostream& err);
  ~Session();

  // Stops every thread and captures a fresh snapshot; selects thread 1, frame 0.
  // With release_after_read, the target is released as soon as registers
  // and memory are read, and the snapshot is built from that copy.
  Result<void> stop();
  // Resumes and detaches. The snapshot stays for rendering. keep_values: the
  // value reader stays, reading only what the page cache holds (one-shot
  // value commands render after the release from what they read before it).
  void release(bool keep_values = false);
  // A snapshot taken without stopping (--nonblocking); no value reader.
  void adopt_snapshot(cpython::ProcessSnapshot snapshot);
  bool is_stopped() const { return stopped_.has_value(); }

  PreparedTarget& target() { return target_; }
  const cpython::ProcessSnapshot& snapshot() const { return snapshot_; }
  bool has_snapshot() const { return has_snapshot_; }
  Selection& selection() { return selection_; }
  const cpython::ThreadSnapshot* selected_thread() const;
  render::SourceProvider sources();
  // Reads values from the stopped target; nullptr once it is released.
  cpython::ValueReader* values() { return values_ ? &*values_ : nullptr; }
  // The Python frames py-print and py-locals look at: those of the first eval
  // frame at or after the selected frame (python-gdb.py stops at a C function
  // frame instead and answers "Unable to read information on python frame").
  const std::vector<std::size_t>* selected_python_frames() const;
  // Reads every thread's threading.Thread name into the snapshot
  // (ThreadSnapshot::python_name). Needs the target stopped; idempotent.
  void read_python_thread_names();
  // Names the fds of the threads' system calls from /proc/PID/fd; needs no
  // stop (release() does it once the target runs). Idempotent.
  void name_syscall_fds();

  // Copies the memory counters into stats.
  void collect_memory_stats();

  std::ostream& out;
  std::ostream& err;
  RunStats stats;
  bool release_after_read = false;
  // A reading pass whose output is thrown away: source files are not read.
  bool dry_run = false;
  bool quit_requested = false;
  bool interactive = false;  // at the prompt: Ctrl-C cancels, not exits
  // stop() reads threading.Thread names while the target is stopped.
  bool want_thread_names = false;
  // `thread apply` headers end with the thread's state (--thread-state).
  bool show_thread_state = false;

  // --format json: commands add results (and command_error its message)
  // here instead of printing text; json_document() assembles the one
  // document of the run (render/json_output.h).
  bool json_output = false;
  std::string current_command;  // the command line being run, for JSON results
  // Appends {"command": current_command, "thread": selected thread number,
  // KEY: value}.
  void add_json_result(std::string_view key, nlohmann::json value);
  void add_json_error(std::string_view message);
  nlohmann::json json_document();
  int value_history = 0;  // gdb's $N counter for `p`
  bool deadlock_found = false;  // set by `deadlock`; one-shot exits kExitDeadlock
  // Set by the prompt's SIGINT handler; long commands poll it and stop early.
  static std::atomic<bool> interrupted;

 private:
  PreparedTarget& target_;
  std::optional<attach::StoppedProcess> stopped_;
  Clock::time_point stop_start_;
  std::optional<cpython::ValueReader> values_;
  cpython::ProcessSnapshot snapshot_;
  bool has_snapshot_ = false;
  bool names_read_ = false, fds_named_ = false;
  Selection selection_;
  SourceFiles source_files_;
  std::unique_ptr<nlohmann::json> json_results_, json_errors_;
};

}  // namespace pyattach::cli
